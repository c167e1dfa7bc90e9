'use strict';
/**
 * `node -r ./bench/support/register.js bench/x.ts`: runs the benchmarks' TypeScript without a build step.
 *
 * Hooks `require` for `.ts` files, transpiling each with @swc/core (same settings as the jest transform: legacy
 * decorators with metadata, CommonJS), and resolves the tsconfig paths `@app/cache` and `@app/cache/*` to
 * libs/cache/src. Dynamic `import()` is kept as is, so ESM-only peers (bentocache, keyv) load natively.
 * Child processes of a benchmark are spawned with the same hook (see `nodeWithHook`).
 */
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const ROOT = path.resolve(__dirname, '..', '..');
const ALIASES = [{ prefix: '@app/cache', target: path.join(ROOT, 'libs', 'cache', 'src') }];

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  for (const { prefix, target } of ALIASES) {
    if (request === prefix || request.startsWith(`${prefix}/`)) {
      return resolveFilename.call(this, target + request.slice(prefix.length), parent, ...rest);
    }
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

const SWC_OPTIONS = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs', ignoreDynamic: true },
  sourceMaps: 'inline',
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = require('node:fs').readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { ...SWC_OPTIONS, filename });
  module._compile(code, filename);
};

process.setSourceMapsEnabled?.(true);
