/**
 * Choose and initialise the tfjs backend inside a job process, by the ladder of docs/design-notes.md §Training backends
 * (training/backends/ladder.ts): tensorflow (tfjs-node-gpu / tfjs-node) → webgpu (Dawn, real
 * adapter only) → wasm (with Sfumato's convolution-gradient kernels) → cpu. `auto` takes the best
 * that starts; a named backend must start or the job fails with the reason.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainBackend } from '../api/types';
import { selectTrainingBackend } from './backends/ladder';

export interface BackendChoice {
  active: string;
  unavailable: Record<string, string>;
}

export async function initTrainingBackend(preference: TrainBackend): Promise<BackendChoice> {
  // Production mode: no debug checks, and no console banners from tfjs in job logs.
  tf.enableProdMode();
  const sel = await selectTrainingBackend(preference === 'auto' ? {} : { override: preference });
  const unavailable: Record<string, string> = {};
  for (const [k, v] of Object.entries(sel.reasons)) if (v) unavailable[k] = v;
  return { active: sel.active, unavailable };
}
