/**
 * The augmentation labels as a network input (network/config.ts augmentDim): zero labels are the
 * plain network (so sampling and export need no input), the ONNX Runtime training graph's loss and
 * gradients (aug.weight included) equal tfjs's, and the trainer draws, applies and labels the
 * augmentations reproducibly.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { normals, uniforms } from '../../../src-main/diffusion/index';
import type { UNetConfig } from '../../../src-main/network/config';
import { UNet } from '../../../src-main/network/unet';
import { exportUNetToOnnx } from '../../../src-main/onnx/export';
import { createOrtSession } from '../../../src-main/onnx/session';
import { AUGMENT_DIM } from '../../../src-main/training/augment';
import { resolveTrainConfig } from '../../../src-main/training/config';
import { OrtGradientEngine } from '../../../src-main/training/onnx/engine';
import { shardLossAndGrads } from '../../../src-main/training/parallel/compute';
import { Trainer, unetConfigOf, type TrainingData } from '../../../src-main/training/trainer';
import { tfjsForward } from '../onnx/helpers';

const CONFIG: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, dropout: 0, timeInput: 'discrete', augmentDim: AUGMENT_DIM };

function labels(rows: number, seed: number): Float32Array {
  return Float32Array.from(normals(seed, 9, rows * AUGMENT_DIM), (v) => 0.5 * v);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('augmentation conditioning in the network', () => {
  it('zero labels give exactly the network without them; other labels change the output; a wrong shape is refused', () => {
    const model = new UNet(CONFIG, { seed: 3 });
    try {
      expect(model.specs.map((s) => s.name)).toContain('aug.weight');
      const x = tf.tensor4d(normals(1, 1, 2 * 8 * 8 * 3), [2, 8, 8, 3]);
      const t = tf.tensor1d([10, 500]);
      const plain = model.apply(x, t);
      const zero = model.apply(x, t, { augment: tf.zeros([2, AUGMENT_DIM]) as tf.Tensor2D });
      const some = model.apply(x, t, { augment: tf.tensor2d(labels(2, 4), [2, AUGMENT_DIM]) });
      expect(Array.from(zero.dataSync())).toEqual(Array.from(plain.dataSync()));
      const diff = tf.max(tf.abs(tf.sub(some, plain))).dataSync()[0];
      expect(diff).toBeGreaterThan(1e-4);
      expect(() => model.apply(x, t, { augment: tf.zeros([2, 5]) as tf.Tensor2D })).toThrow(/augment must be \[2, 12\]/);
      tf.dispose([x, t, plain, zero, some]);
    } finally {
      model.dispose();
    }
  });

  it('a network without augmentation conditioning has no aug.weight and refuses labels', () => {
    const { augmentDim: _, ...plain } = CONFIG;
    const model = new UNet(plain, { seed: 3 });
    try {
      expect(model.specs.some((s) => s.name === 'aug.weight')).toBe(false);
      const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
      expect(() => model.apply(x, tf.tensor1d([1]), { augment: tf.zeros([1, AUGMENT_DIM]) as tf.Tensor2D })).toThrow(/no augmentation conditioning/);
      x.dispose();
    } finally {
      model.dispose();
    }
  });

  it('exports to ONNX without an augmentation input, equal to the tfjs network at zero labels', async () => {
    const model = new UNet(CONFIG, { seed: 5 });
    const session = await createOrtSession(exportUNetToOnnx(model, { prediction: 'eps', schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 }, appVersion: 'test' }), { provider: 'cpu', log: () => {}, reuse: false, intraOpThreads: 1 });
    try {
      expect(session.inputs.map((i) => i.name).sort()).toEqual(['sample', 'timestep']);
      const shape = [2, 3, 8, 8];
      const x = normals(2, 1, 2 * 3 * 64);
      const t = Float32Array.from([3, 700]);
      const ref = await tfjsForward(model, x, shape, t);
      const out = await session.run({ sample: new session.ort.Tensor('float32', x, shape), timestep: new session.ort.Tensor('float32', t, [2]) });
      const got = out.out_sample.data as Float32Array;
      let worst = 0;
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref[i]))));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      model.dispose();
      await session.dispose();
    }
  });

  it('the ONNX Runtime training graph takes the labels and gives the tfjs loss and gradients, aug.weight included', async () => {
    const model = new UNet(CONFIG, { seed: 7 });
    const rows = 3;
    const per = 8 * 8 * 3;
    const u = uniforms(11, 1, rows);
    const batch = { xIn: normals(11, 2, rows * per), target: normals(11, 3, rows * per), time: Float32Array.from(u, (x) => Math.floor(x * 1000)), weight: Float32Array.from(u, (x) => 0.5 + x), augment: labels(rows, 12) };
    const ref = shardLossAndGrads(model, batch, rows, rows, undefined);
    const engine = await OrtGradientEngine.create(CONFIG, rows, { threads: 1 });
    try {
      const got = await engine.lossAndGrads(model.variables().map((v) => v.dataSync() as Float32Array), batch, rows);
      expect(got.loss).toBeCloseTo(ref.loss, 5);
      const i = model.specs.findIndex((s) => s.name === 'aug.weight');
      const r = ref.grads[i].dataSync() as Float32Array;
      const g = got.grads[i];
      let num = 0;
      let den = 0;
      r.forEach((v, j) => {
        num += (g[j] - v) ** 2;
        den += v * v;
      });
      expect(den).toBeGreaterThan(0);
      expect(Math.sqrt(num / den)).toBeLessThan(1e-4);
    } finally {
      tf.dispose(ref.grads);
      model.dispose();
      await engine.dispose();
    }
  });
});

describe('augmentation in the trainer', () => {
  /** 6 synthetic 8x8 images with distinct content */
  const data: TrainingData = { pixels: Uint8Array.from({ length: 6 * 8 * 8 * 3 }, (_, i) => (i * 37 + ((i / 24) | 0) * 11) % 256), count: 6, size: 8, channels: 3 };
  const SMALL = { imageSize: 8, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [4], groups: 4, batchSize: 3, steps: 2 };

  it('validates p before any compute', () => {
    expect(() => resolveTrainConfig({ ...SMALL, augment: 1.5 })).toThrow(/augment must be a number ≥ 0 and ≤ 1/);
    expect(() => resolveTrainConfig({ ...SMALL, augment: -0.1 })).toThrow(/augment/);
  });

  it('only runs that augment get the labels input (earlier configs unchanged)', () => {
    expect(unetConfigOf(resolveTrainConfig(SMALL)).augmentDim).toBeUndefined();
    expect('augmentDim' in unetConfigOf(resolveTrainConfig(SMALL))).toBe(false);
    expect(unetConfigOf(resolveTrainConfig({ ...SMALL, augment: 0.2 })).augmentDim).toBe(AUGMENT_DIM);
  });

  it.each(['tfjs', 'onnxruntime'] as const)('draws labelled augmentations reproducibly and trains on them (gradients on %s)', async (gradients) => {
    const config = resolveTrainConfig({ ...SMALL, augment: 1 });
    const a = new Trainer(config, 21, data, { gradients });
    const b = new Trainer(config, 21, data, { gradients });
    try {
      const m = a.microBatch(0, 0);
      expect(m.augment?.length).toBe(3 * AUGMENT_DIM);
      expect(m.augment!.some((v) => v !== 0)).toBe(true);
      expect(b.microBatch(0, 0)).toEqual(m);
      const la = await a.trainStep();
      const lb = await b.trainStep();
      expect(Number.isFinite(la.loss)).toBe(true);
      expect(lb.loss).toBe(la.loss);
      expect(b.weightsDigest()).toBe(a.weightsDigest());
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 120_000);
});

describe('fine-tuning with augmentation', () => {
  it('a base model trained without it starts with aug.weight = 0, i.e. exactly the base network', async () => {
    const data: TrainingData = { pixels: Uint8Array.from({ length: 4 * 8 * 8 * 3 }, (_, i) => (i * 53) % 256), count: 4, size: 8, channels: 3 };
    const SMALL = { imageSize: 8, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [4], groups: 4, batchSize: 2, steps: 1 };
    const base = new Trainer(resolveTrainConfig(SMALL), 3, data);
    const bytes = base.checkpointBytes({});
    const { parseWeights } = await import('../../../src-main/network/weights');
    const tuned = new Trainer(resolveTrainConfig({ ...SMALL, augment: 0.2 }), 4, data, { init: { parsed: parseWeights(bytes), preferEma: false } });
    try {
      const aug = tuned.model.namedVariables().find((v) => v.name === 'aug.weight')!;
      expect(Array.from(aug.variable.dataSync()).every((v) => v === 0)).toBe(true);
      const x = tf.tensor4d(normals(5, 1, 8 * 8 * 3), [1, 8, 8, 3]);
      const t = tf.tensor1d([200]);
      const a = base.model.apply(x, t);
      const b = tuned.model.apply(x, t, { augment: tf.tensor2d(labels(1, 6), [1, AUGMENT_DIM]) });
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([x, t, a, b]);
    } finally {
      await base.dispose();
      await tuned.dispose();
    }
  }, 60_000);
});
