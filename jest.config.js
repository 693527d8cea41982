/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking happens once in `tsc --noEmit`; jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  // The babel instrumenter rewrites function bodies, which breaks gpu.js kernels.
  coverageProvider: 'v8',
  testTimeout: 120000,
  // Fixed fast-check seed (FC_SEED=random to explore): see test/setupFastCheck.ts.
  setupFilesAfterEnv: ['<rootDir>/test/setupFastCheck.ts'],
};
