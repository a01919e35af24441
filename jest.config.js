/** Unit specs sit beside the code; end-to-end specs live in test/. */
// Transpile only (tsconfig.jest.json): npm test type-checks everything first with `npm run typecheck`.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] };

module.exports = {
  // Real sockets and real timers: generous per-test ceiling, tests finish far sooner.
  testTimeout: 30000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: 'src',
      testRegex: '.*\\.spec\\.ts$',
      moduleFileExtensions: ['js', 'json', 'ts'],
      transform,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testRegex: 'test/.*\\.e2e-spec\\.ts$',
      moduleFileExtensions: ['js', 'json', 'ts'],
      transform,
    },
    {
      // The client SDK's unit specs (client/src); its end-to-end specs are in test/.
      displayName: 'client',
      testEnvironment: 'node',
      rootDir: 'client',
      testRegex: 'src/.*\\.spec\\.ts$',
      moduleFileExtensions: ['js', 'json', 'ts'],
      transform,
    },
  ],
};
