import { defineConfig } from 'vitest/config';

// The browser end-to-end test: a real Sfumato service in web mode, driven through the built UI in
// Debian's Chromium (playwright-core). One file, one worker; training and sampling are real, so
// the timeouts are generous.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
