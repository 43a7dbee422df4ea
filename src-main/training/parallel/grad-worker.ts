/**
 * A data-parallel gradient worker (a worker_threads thread): its own tfjs engine and backend
 * (wasm with Sfumato's conv-gradient kernels, or cpu) and a UNet replica. Per step it copies the
 * coordinator's current weights from the shared weights buffer into its variables, computes loss
 * and gradients of its shard (compute.ts, the coordinator's own code) and writes the gradients into
 * its shared gradient buffer. Started by pool.ts: under tsx through boot.mjs, or as a built entry.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { UNet } from '../../network/unet';
import { initWasmBackend } from '../backends/wasm';
import { shardLossAndGrads } from './compute';
import type { FromWorker, InitMsg, StepMsg, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('grad-worker.ts must run in a worker thread (training/parallel/pool.ts starts it)');

let model: UNet | undefined;
let vars: tf.Variable[] = [];
let offsets: number[] = [];
let weights: Float32Array | undefined;
let grads: Float32Array | undefined;
let copyWeights = false;

const post = (m: FromWorker) => port.postMessage(m);

async function init(m: InitMsg): Promise<void> {
  tf.enableProdMode();
  if (m.backend === 'wasm') await initWasmBackend();
  else {
    if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend failed to start');
    await tf.ready();
  }
  // The cpu backend keeps the array given to tf.tensor; give it a private copy, not a view of
  // shared memory the coordinator rewrites. wasm copies into its heap anyway.
  copyWeights = m.backend !== 'wasm';
  model = new UNet(m.config);
  vars = model.variables();
  offsets = [];
  let off = 0;
  for (const v of vars) {
    offsets.push(off);
    off += v.size;
  }
  weights = new Float32Array(m.weights);
  grads = new Float32Array(m.grads);
  if (weights.length !== off || grads.length !== off) throw new Error(`shared buffers hold ${weights.length} floats, the model has ${off} parameters`);
  post({ type: 'ready', backend: tf.getBackend(), params: off });
}

function compute(m: StepMsg): number {
  const w = weights as Float32Array;
  tf.tidy(() => {
    vars.forEach((v, i) => {
      const view = w.subarray(offsets[i], offsets[i] + v.size);
      v.assign(tf.tensor(copyWeights ? view.slice() : view, v.shape, 'float32'));
    });
  });
  const r = shardLossAndGrads(model as UNet, m, m.rows, m.fullBatch, m.dropoutSeed);
  const g = grads as Float32Array;
  r.grads.forEach((t, i) => g.set(t.dataSync() as Float32Array, offsets[i]));
  tf.dispose(r.grads);
  return r.loss;
}

async function step(m: StepMsg): Promise<void> {
  if (!model) throw new Error('step before init');
  const t0 = performance.now();
  let loss = NaN;
  let kernelMs: Record<string, number> | undefined;
  if (m.profile) {
    const info = await tf.profile(() => {
      loss = compute(m);
    });
    kernelMs = {};
    for (const k of info.kernels) kernelMs[k.name] = (kernelMs[k.name] ?? 0) + (Number(k.kernelTimeMs) || 0);
  } else loss = compute(m);
  post({ type: 'done', id: m.id, loss, computeMs: performance.now() - t0, kernelMs });
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'crash') process.exit(m.code);
  const id = m.type === 'step' ? m.id : null;
  (m.type === 'init' ? init(m) : step(m)).catch((e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'error', id, message: err.message, stack: err.stack });
  });
});
