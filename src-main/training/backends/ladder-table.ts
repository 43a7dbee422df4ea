/**
 * The training backend ladder as data (docs/design-notes.md §Training backends): its order, the
 * packages each rung needs, and what to say when they are missing. training/backends/ladder.ts
 * runs the real probes in this order; services/system.ts probeBackends answers `system:info` from
 * the same table by checking only that the packages resolve (it imports no tfjs, so the app's main
 * process stays light).
 */
export type TrainingBackend = 'tensorflow' | 'webgpu' | 'onnxruntime' | 'wasm' | 'cpu';

export interface LadderRung {
  backend: TrainingBackend;
  /** every group must have one package that resolves (alternatives within a group) */
  needs: readonly (readonly string[])[];
  /** the reason a cheap check gives when the packages are missing */
  missing: string;
  /** set when installed packages are not enough (only a job's real probe can tell): the reason given then */
  installedButProbed?: string;
}

/** Best first. */
export const LADDER: readonly LadderRung[] = [
  {
    backend: 'tensorflow',
    needs: [['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']],
    missing:
      '@tensorflow/tfjs-node is not installed: its install step downloads libtensorflow, which failed or was skipped. Run `npm install @tensorflow/tfjs-node` (or tfjs-node-gpu with CUDA 11.2) where that download works.',
  },
  {
    backend: 'webgpu',
    needs: [['webgpu']],
    missing: 'the `webgpu` package is not installed (npm install webgpu to try Dawn on your GPU).',
    installedButProbed: 'the webgpu package is installed; a job uses it only when Dawn finds a real (non-CPU) GPU adapter.',
  },
  // onnxruntime: the training step on ONNX Runtime's native CPU kernels, the model for previews on tfjs wasm
  { backend: 'onnxruntime', needs: [['onnxruntime-node'], ['@tensorflow/tfjs-backend-wasm']], missing: 'onnxruntime-node is not installed; reinstall with npm ci.' },
  { backend: 'wasm', needs: [['@tensorflow/tfjs-backend-wasm']], missing: '@tensorflow/tfjs-backend-wasm is not installed; reinstall with npm ci.' },
  // tfjs-backend-cpu ships inside @tensorflow/tfjs: always there
  { backend: 'cpu', needs: [], missing: '' },
];

export const BACKEND_LADDER: readonly TrainingBackend[] = LADDER.map((r) => r.backend);
