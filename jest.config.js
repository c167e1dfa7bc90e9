/** Three suites: unit (no network), integration (real Redis) and e2e (the demo app on real Redis + Postgres). */
const swc = ['@swc/jest', require('./test/support/swc-options')];
/** Only the suites that need Redis look for one (unit tests run on a machine without it). */
const withRedis = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
const shared = {
  transform: { '^.+\\.ts$': swc },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^@app/cache(|/.*)$': '<rootDir>/libs/cache/src$1' },
  testEnvironment: 'node',
  testTimeout: 30_000,
};

/** @type {import('jest').Config} */
module.exports = {
  // Chaos suites spawn and kill redis-server processes and TCP proxies; a socket they leave half-closed must never
  // keep CI waiting after the last test has reported.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/libs/cache/src/**/*.spec.ts'] },
    { ...shared, ...withRedis, displayName: 'integration', testMatch: ['<rootDir>/libs/cache/test/**/*.spec.ts'] },
    { ...shared, ...withRedis, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
