/**
 * Pure pieces of data-parallel training shared by the coordinator (trainer, bench) and the gradient
 * workers: how a micro-batch is cut into shards, the per-shard dropout seed, and the loss whose
 * gradient every participant computes. No Node imports beyond tfjs.
 *
 * Loss normalisation: each shard computes Σ_{b in shard} w_b · mean_pixels((F(x_b) - y_b)²) / B,
 * B being the FULL micro-batch, so the shards' losses and gradients simply add up to those of the
 * whole batch (only the float summation order differs from one thread doing all of it).
 */
import * as tf from '@tensorflow/tfjs';

/** One micro-batch's inputs as flat NHWC rows (the trainer's microBatch() layout). */
export interface BatchArrays {
  xIn: Float32Array;
  time: Float32Array;
  target: Float32Array;
  weight: Float32Array;
  /** class-conditional runs: each row's class index after label dropout (K = the null class) */
  labels?: Int32Array;
  /** augmentation labels [rows, augmentDim] (training/augment.ts), for networks conditioned on them */
  augment?: Float32Array;
}

export interface Shard extends BatchArrays {
  /** first row of the micro-batch in this shard */
  start: number;
  /** rows in this shard */
  rows: number;
}

/** Row ranges of `n` contiguous shards of a batch of `batch` rows: shard s = [⌊s·B/n⌋, ⌊(s+1)·B/n⌋). */
export function shardRanges(batch: number, n: number): { start: number; rows: number }[] {
  if (!(n >= 1 && n <= batch)) throw new Error(`cannot cut a batch of ${batch} into ${n} shards`);
  const out: { start: number; rows: number }[] = [];
  for (let s = 0; s < n; s++) {
    const start = Math.floor((s * batch) / n);
    out.push({ start, rows: Math.floor(((s + 1) * batch) / n) - start });
  }
  return out;
}

/** Cuts a micro-batch into `n` shards (copies, so each can be transferred to a worker). */
export function splitBatch(b: BatchArrays, batch: number, n: number): Shard[] {
  const per = b.xIn.length / batch;
  return shardRanges(batch, n).map(({ start, rows }) => ({
    start,
    rows,
    xIn: b.xIn.slice(start * per, (start + rows) * per),
    target: b.target.slice(start * per, (start + rows) * per),
    time: b.time.slice(start, start + rows),
    weight: b.weight.slice(start, start + rows),
    ...(b.labels ? { labels: b.labels.slice(start, start + rows) } : {}),
    ...(b.augment ? { augment: b.augment.slice((start * b.augment.length) / batch, ((start + rows) * b.augment.length) / batch) } : {}),
  }));
}

/** 32-bit mix of (seed, value) (murmur3-style finaliser). */
export function mixSeed(seed: number, value: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (value >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Dropout seed of shard `shard` of `shards` for micro-batch `micro` of optimiser step k (1-based).
 * With one shard it is the in-process trainer's seed; with more, each shard gets its own stream.
 * A dropout mask therefore depends on the shard layout: a run's numbers depend on the worker
 * count, and a resumed run reproduces an uninterrupted one exactly when the worker count is the
 * same (with dropout 0 only the float summation order differs).
 */
export function shardDropoutSeed(runSeed: number, k: number, micro: number, shard: number, shards: number): number {
  const base = mixSeed(runSeed, k * 1024 + micro);
  return shards === 1 ? base : mixSeed(base, 0x632be5ab + shard);
}

/**
 * The training loss of a shard: Σ_b w_b · mean((out_b - y_b)²) / fullBatch, where out and y are
 * [rows, H, W, C] and w is [rows, 1, 1, 1]. With rows = fullBatch this is the batch mean.
 */
export function shardLoss(out: tf.Tensor4D, y: tf.Tensor4D, w: tf.Tensor4D, fullBatch: number): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(tf.mean(tf.squaredDifference(out, y), [1, 2, 3], true), w)), fullBatch) as tf.Scalar);
}
