/**
 * Data-parallel gradient workers (training/parallel): gradients from worker threads equal the
 * single-thread gradients (wasm, tiny UNet, even and uneven shards, with and without a coordinator
 * shard); a Trainer with 2 workers matches 1 worker; workers end on dispose; a worker error or a
 * worker crash surfaces as a rejected step instead of a hang; no tensor leak on the coordinator.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainConfig } from '../../../../src-main/api/types';
import type { UNetConfig } from '../../../../src-main/network/config';
import { UNet } from '../../../../src-main/network/unet';
import { initWasmBackend } from '../../../../src-main/training/backends/wasm';
import { resolveTrainConfig } from '../../../../src-main/training/config';
import { Trainer, type TrainingData } from '../../../../src-main/training/trainer';
import { DataParallel, resolveWorkerCount } from '../../../../src-main/training/parallel/data-parallel';
import { shardLossAndGrads } from '../../../../src-main/training/parallel/compute';
import { GradientPool } from '../../../../src-main/training/parallel/pool';
import { shardRanges, splitBatch, type BatchArrays } from '../../../../src-main/training/parallel/shards';
import { randomData } from '../../network/gradcheck';
import { TINY_UNET } from '../../../helpers/unet';

const TINY: UNetConfig = { ...TINY_UNET, channelMults: [...TINY_UNET.channelMults], attentionResolutions: [...TINY_UNET.attentionResolutions] };

function batchOf(rows: number, seed: number): BatchArrays {
  const per = TINY.imageSize * TINY.imageSize * TINY.inChannels;
  const time = new Float32Array(rows);
  const weight = new Float32Array(rows);
  for (let b = 0; b < rows; b++) {
    time[b] = 100 + 250 * b;
    weight[b] = 0.5 + 0.25 * b;
  }
  return { xIn: randomData(rows * per, seed), target: randomData(rows * per, seed + 1), time, weight };
}

/** max |a - b| / max |a| per tensor, the largest over all tensors */
function maxRelErr(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    let err = 0;
    let scale = 0;
    for (let j = 0; j < x.length; j++) {
      err = Math.max(err, Math.abs(x[j] - b[i][j]));
      scale = Math.max(scale, Math.abs(x[j]));
    }
    worst = Math.max(worst, scale > 0 ? err / scale : err);
  });
  return worst;
}

const read = (ts: tf.Tensor[]) => {
  const out = ts.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(ts);
  return out;
};

beforeAll(async () => {
  tf.enableProdMode();
  await initWasmBackend();
});

describe('shards', () => {
  it('cuts batches into contiguous, nearly equal row ranges', () => {
    expect(shardRanges(3, 2)).toEqual([
      { start: 0, rows: 1 },
      { start: 1, rows: 2 },
    ]);
    expect(shardRanges(16, 3).map((r) => r.rows)).toEqual([5, 5, 6]);
    expect(() => shardRanges(2, 3)).toThrow(/cannot cut/);
    const b = batchOf(3, 1);
    const parts = splitBatch(b, 3, 2);
    expect(parts[1].time).toEqual(b.time.slice(1));
    expect(parts[1].xIn.length).toBe(2 * 8 * 8 * 3);
  });

  it('resolves the worker count', () => {
    expect(resolveWorkerCount(0, 'cpu', 16)).toBe(1);
    expect(resolveWorkerCount(2, 'tensorflow', 16)).toBe(1);
    expect(resolveWorkerCount(4, 'wasm', 3)).toBe(3);
    expect(resolveWorkerCount(0, 'wasm', 16)).toBeGreaterThanOrEqual(1);
  });
});

describe('data-parallel gradients (wasm workers)', () => {
  let model: UNet;
  let dp: DataParallel;
  let dpLocal: DataParallel;

  beforeAll(async () => {
    model = new UNet(TINY, { seed: 7 });
    dp = new DataParallel(model, { workers: 2, backend: 'wasm' });
    dpLocal = new DataParallel(model, { workers: 1, backend: 'wasm', localShard: true });
    await Promise.all([dp.ready, dpLocal.ready]);
  });
  afterAll(async () => {
    await Promise.all([dp.dispose(), dpLocal.dispose()]);
    model.dispose();
  });

  for (const rows of [3, 4]) {
    it(`equal the single-thread gradients for batch ${rows} on 2 shards (2 workers, and 1 worker + the coordinator)`, async () => {
      const batch = batchOf(rows, 10 + rows);
      const single = shardLossAndGrads(model, batch, rows, rows, 0);
      const ref = read(single.grads);
      for (const d of [dp, dpLocal]) {
        d.syncWeights();
        const before = tf.memory().numTensors;
        const r = await d.lossAndGrads(batch, rows, () => 0);
        expect(tf.memory().numTensors).toBe(before + ref.length);
        expect(Math.abs(r.loss - single.loss) / single.loss).toBeLessThan(1e-5);
        expect(maxRelErr(ref, read(r.grads))).toBeLessThan(1e-4);
        expect(r.computeMs).toHaveLength(2);
      }
    });
  }

  it('uses the weights published by syncWeights', async () => {
    const batch = batchOf(2, 30);
    dp.syncWeights();
    const a = await dp.lossAndGrads(batch, 2, () => 0);
    tf.dispose(a.grads);
    const v = model.variables()[0];
    const saved = tf.clone(v);
    v.assign(tf.mul(v, 1.5));
    dp.syncWeights();
    const b = await dp.lossAndGrads(batch, 2, () => 0);
    tf.dispose(b.grads);
    expect(b.loss).not.toBe(a.loss);
    const single = shardLossAndGrads(model, batch, 2, 2, 0);
    tf.dispose(single.grads);
    expect(Math.abs(b.loss - single.loss) / single.loss).toBeLessThan(1e-5);
    v.assign(saved);
    saved.dispose();
  });
});

describe('gradient pool lifecycle', () => {
  it('dispose ends every worker thread', async () => {
    const pool = new GradientPool({ size: 2, backend: 'cpu', config: TINY });
    await pool.ready;
    expect(pool.liveWorkers).toBe(2);
    await pool.dispose();
    expect(pool.liveWorkers).toBe(0);
    await pool.dispose(); // idempotent
    await expect(pool.step(splitBatch(batchOf(2, 1), 2, 2), 2, [0, 0])).rejects.toThrow(/disposed/);
  });

  it('a worker that throws rejects the step with its message', async () => {
    const pool = new GradientPool({ size: 2, backend: 'cpu', config: TINY });
    try {
      const shards = splitBatch(batchOf(2, 2), 2, 2);
      shards[1] = { ...shards[1], xIn: shards[1].xIn.subarray(5) }; // wrong length
      await expect(pool.step(shards, 2, [0, 0])).rejects.toThrow(/gradient worker 1: .*(size|shape|values)/i);
    } finally {
      await pool.dispose();
    }
  });

  it('a worker that dies rejects the pending step and every later one (no hang)', async () => {
    const pool = new GradientPool({ size: 2, backend: 'cpu', config: TINY });
    try {
      await pool.ready;
      pool.crashWorkerForTest(0, 7);
      const shards = splitBatch(batchOf(2, 3), 2, 2);
      await expect(pool.step(shards, 2, [0, 0])).rejects.toThrow(/gradient worker 0 exited unexpectedly \(exit code 7\)/);
      await expect(pool.step(shards, 2, [0, 0])).rejects.toThrow(/exited unexpectedly/);
    } finally {
      await pool.dispose();
    }
    expect(pool.liveWorkers).toBe(0);
  });
});

describe('Trainer with workers', () => {
  let data: TrainingData;
  const SMALL: Partial<TrainConfig> = { imageSize: 8, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [4], groups: 4, batchSize: 3, steps: 4, gradAccum: 2, gradClip: 1, ema: 0.9 };

  beforeAll(() => {
    const count = 12;
    const pixels = new Uint8Array(count * 8 * 8 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
    data = { pixels, count, size: 8, channels: 3 };
  });

  it('2 workers give the losses and weights of the in-process trainer; a crash surfaces from trainStep', async () => {
    const config = resolveTrainConfig({ ...SMALL, workers: 1 }, data.count);
    const one = new Trainer(config, 11, data);
    expect(one.shards).toBe(1);
    const two = new Trainer({ ...config, workers: 2 }, 11, data);
    expect(two.shards).toBe(2);
    try {
      for (let s = 0; s < 3; s++) {
        const a = await one.trainStep();
        const b = await two.trainStep();
        expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-4);
        expect(Math.abs(a.gradNorm - b.gradNorm) / a.gradNorm).toBeLessThan(1e-4);
      }
      const wa = one.model.variables().map((v) => v.dataSync() as Float32Array);
      const wb = two.model.variables().map((v) => v.dataSync() as Float32Array);
      expect(maxRelErr(wa, wb)).toBeLessThan(1e-4);
      // leak check on the coordinator across parallel steps
      const before = tf.memory().numTensors;
      await two.trainStep();
      expect(tf.memory().numTensors).toBe(before);
      (two as unknown as { parallel: DataParallel }).parallel.pool.crashWorkerForTest(1);
      await expect(two.trainStep()).rejects.toThrow(/gradient worker 1 exited unexpectedly/);
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  it('with dropout, the same worker count reproduces a run exactly', async () => {
    const config = resolveTrainConfig({ ...SMALL, dropout: 0.2, workers: 2, steps: 2 }, data.count);
    const losses: number[][] = [];
    const digests: string[] = [];
    for (let r = 0; r < 2; r++) {
      const t = new Trainer(config, 5, data, { parallel: { localShard: r === 1 } });
      try {
        losses.push([(await t.trainStep()).loss, (await t.trainStep()).loss]);
        digests.push(t.weightsDigest());
      } finally {
        await t.dispose();
      }
    }
    // same shards, same per-shard dropout seeds: a coordinator shard computes the same numbers
    expect(losses[1]).toEqual(losses[0]);
    expect(digests[1]).toBe(digests[0]);
  });
});
