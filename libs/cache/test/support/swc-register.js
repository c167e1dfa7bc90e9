/**
 * A require hook for child processes of the integration tests: compiles `.ts` files with @swc/core (the options
 * jest uses) as they are required, and maps `@app/cache` to the library's sources, so a child runs the same code
 * as the test that started it without a build step.
 * @example fork('worker.ts', [], { execArgv: ['-r', require.resolve('./swc-register.js')] })
 */
'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const librarySources = path.resolve(__dirname, '../../src');
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

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
