import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

// One block per process. Native and heavy packages (sqlite3, sharp, onnxruntime-node, tfjs) stay
// external in main (electron-vite externalises dependencies by default).
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        // Optional native backends, loaded only when the user installed them.
        external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
        input: {
          index: resolve(__dirname, 'src-main/app/main.ts'),
          'job-process': resolve(__dirname, 'src-main/jobs/job-process.ts'),
          // data-parallel gradient workers (worker_threads) of the training engine
          'grad-worker': resolve(__dirname, 'src-main/training/parallel/grad-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can require no package: zod (the contract table's request schemas,
      // src-main/api/channels.ts) is bundled into it instead of left external.
      externalizeDeps: { exclude: ['zod'] },
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-main/preload.ts') },
        // Sandboxed preloads must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    plugins: [vue()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
