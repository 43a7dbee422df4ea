import vue from '@vitejs/plugin-vue';
import { configDefaults, defineConfig } from 'vitest/config';

// Unit and integration tests run in Node (real SQLite, real tfjs, real child processes).
// Renderer store and component tests (tests/unit/renderer/{stores,components,lib}) run in
// happy-dom with the Vue SFC plugin, which only that project loads.
// The browser end-to-end test lives in tests/e2e and is run by scripts/test.mjs separately.
const RENDERER_DOM_TESTS = 'tests/unit/renderer/{stores,components,lib}/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/security/**/*.test.ts'],
          exclude: [...configDefaults.exclude, RENDERER_DOM_TESTS],
          environment: 'node',
        },
      },
      {
        extends: true,
        plugins: [vue()],
        test: {
          name: 'renderer',
          include: [RENDERER_DOM_TESTS],
          environment: 'happy-dom',
          // component styles are applied, so tests can read computed styles (e.g. image-rendering)
          css: true,
        },
      },
    ],
  },
});
