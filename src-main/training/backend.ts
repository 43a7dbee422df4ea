/**
 * Choose and initialise the tfjs backend inside a job process. The full ladder (tensorflow,
 * webgpu, wasm with our gradient kernels, cpu) is the training engine's; until wasm has its
 * Conv2DBackpropFilter kernel, training runs on tfjs-node when it is installed, else `cpu`, and the
 * reasons say why.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainBackend } from '../api/types';
import { probeBackends } from '../services/system';

export interface BackendChoice {
  active: string;
  unavailable: Record<string, string>;
}

export async function initTrainingBackend(preference: TrainBackend): Promise<BackendChoice> {
  // Production mode: no debug checks, and no console banners from tfjs in job logs.
  tf.enableProdMode();
  const status = await probeBackends();
  const unavailable = { ...status.unavailable };
  if (preference !== 'auto' && preference !== 'cpu' && unavailable[preference]) {
    throw new Error(`The ${preference} backend was requested but is unavailable: ${unavailable[preference]} Use --backend auto or cpu.`);
  }
  if ((preference === 'auto' || preference === 'tensorflow') && status.active === 'tensorflow') {
    try {
      // Registers the 'tensorflow' backend (libtensorflow, oneDNN on CPU or CUDA with -gpu).
      await import('@tensorflow/tfjs-node-gpu' as string).catch(() => import('@tensorflow/tfjs-node' as string));
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return { active: 'tensorflow', unavailable };
      }
      unavailable.tensorflow = 'tfjs-node is installed but its backend did not start.';
    } catch (e) {
      unavailable.tensorflow = `tfjs-node is installed but failed to load: ${(e as Error).message}`;
      if (preference === 'tensorflow') throw new Error(`The tensorflow backend failed to load: ${(e as Error).message}`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { active: tf.getBackend(), unavailable };
}
