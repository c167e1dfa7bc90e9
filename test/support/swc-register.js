'use strict';
/**
 * `node -r ./test/support/swc-register.js file.ts`: runs TypeScript without a build step, for the integration
 * tests' child processes and for the benchmarks. Compiles each required `.ts` file with @swc/core (the options jest
 * uses) and maps `@app/cache` and `@app/cache/*` to the library's sources. Dynamic `import()` is left native, so
 * ESM-only packages (e.g. the benchmarks' peers) load as themselves.
 * @example fork('worker.ts', [], { execArgv: ['-r', require.resolve('../../test/support/swc-register.js')] })
 */
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { transformSync } = require('@swc/core');
const baseOptions = require('./swc-options');

const librarySources = path.resolve(__dirname, '../../libs/cache/src');
const swcOptions = { ...baseOptions, module: { ...baseOptions.module, ignoreDynamic: true }, sourceMaps: 'inline' };

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveAlias(request, ...rest) {
  const alias = /^@app\/cache(\/.*)?$/.exec(request);
  if (alias) request = path.join(librarySources, alias[1] ?? '');
  return resolveFilename.call(this, request, ...rest);
};

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { ...swcOptions, filename });
  module._compile(code, filename);
};

process.setSourceMapsEnabled?.(true);
