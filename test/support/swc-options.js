'use strict';
/**
 * The one swc configuration for running this repo's TypeScript without a build: jest's transform and the require
 * hook of child processes and benchmarks both use it (legacy decorators with metadata, as Nest needs; CommonJS).
 */
module.exports = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
};
