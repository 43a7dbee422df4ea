/** Messages between the gradient-pool coordinator (pool.ts) and its workers (grad-worker.ts). */
import type { UNetConfig } from '../../network/config';

export type WorkerBackend = 'wasm' | 'cpu';

export interface InitMsg {
  type: 'init';
  backend: WorkerBackend;
  config: UNetConfig;
  /** all parameters, flat in the order of UNet.variables(); written by the coordinator */
  weights: SharedArrayBuffer;
  /** this worker's gradient output, same layout; written by the worker, read by the coordinator */
  grads: SharedArrayBuffer;
}

export interface StepMsg {
  type: 'step';
  id: number;
  rows: number;
  fullBatch: number;
  dropoutSeed: number;
  xIn: Float32Array;
  time: Float32Array;
  target: Float32Array;
  weight: Float32Array;
  /** class-conditional runs: the shard's labels (BatchArrays.labels) */
  labels?: Int32Array;
  /** augmentation labels [rows, augmentDim] when the network is conditioned on them */
  augment?: Float32Array;
  /** also return per-kernel times (tf.profile) of this step */
  profile?: boolean;
}

/** Test hook: the worker ends its thread abruptly with this exit code (a simulated crash). */
export interface CrashMsg {
  type: 'crash';
  code: number;
}

export type ToWorker = InitMsg | StepMsg | CrashMsg;

export type FromWorker =
  | { type: 'ready'; backend: string; params: number }
  | { type: 'done'; id: number; loss: number; computeMs: number; kernelMs?: Record<string, number> }
  | { type: 'error'; id: number | null; message: string; stack?: string };
