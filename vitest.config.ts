import { defineConfig } from 'vitest/config';

// Unit and integration tests run in Node (real SQLite, real tfjs, real child processes).
// The browser end-to-end test lives in tests/e2e and is run by scripts/test.mjs separately.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/security/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
