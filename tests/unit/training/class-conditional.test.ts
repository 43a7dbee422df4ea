/**
 * Class-conditional training (Ho & Salimans 2022): label dropout to the null class is a pure
 * function of (run seed, data position) from its own Philox stream, so resume repeats it; a class-
 * conditional run resumes exactly on both gradient engines; bad settings fail before any compute.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainConfig } from '../../../src-main/api/types';
import { parseWeights } from '../../../src-main/network/weights';
import { resolveTrainConfig } from '../../../src-main/training/config';
import { dropLabels, Trainer, TRAIN_STREAMS, unetConfigOf, type TrainingData } from '../../../src-main/training/trainer';
import { uniforms } from '../../../src-main/diffusion/rng';
import { previewGrid } from '../../../src-main/training/preview';
import { tfjsNetwork } from '../../../src-main/network/tfjs-network';
import { familyDenoiser } from '../../../src-main/diffusion/model-family';
import { guidedNetwork, sampleSeeds } from '../../../src-main/diffusion/index';

const SMALL: Partial<TrainConfig> = { imageSize: 8, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [4], groups: 4, batchSize: 4 };

/** 12 real-valued 8x8 RGB images (seeded bytes), 3 classes + 2 unlabelled (label K = 3). */
function dataset(): TrainingData {
  const count = 12;
  const pixels = new Uint8Array(count * 8 * 8 * 3);
  const u = uniforms(5, 0, pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(u[i] * 256);
  return { pixels, count, size: 8, channels: 3, labels: Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 3, 3]) };
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('label dropout', () => {
  it('replaces a label by the null class exactly where the condDropout stream draws u < p', () => {
    const labels = Int32Array.from({ length: 2000 }, (_, i) => i % 5);
    const out = dropLabels(labels, 0.1, 5, 42, 1000);
    const u = uniforms(42, TRAIN_STREAMS.condDropout, 2000, 1000);
    out.forEach((l, i) => expect(l).toBe(u[i] < 0.1 ? 5 : labels[i]));
    const dropped = out.filter((l) => l === 5).length / out.length;
    // 2000 Bernoulli(0.1) draws: standard error 0.0067
    expect(Math.abs(dropped - 0.1)).toBeLessThan(0.03);
    expect(Array.from(dropLabels(labels, 0.1, 5, 42, 1000))).toEqual(Array.from(out));
    expect(Array.from(dropLabels(labels, 0.1, 5, 43, 1000))).not.toEqual(Array.from(out));
    expect(Array.from(dropLabels(labels, 0, 5, 42, 1000))).toEqual(Array.from(labels));
    expect(new Set(Object.values(TRAIN_STREAMS)).size).toBe(Object.keys(TRAIN_STREAMS).length);
  });

  it('a step’s labels are a pure function of (seed, step): two trainers agree, unlabelled images stay null', async () => {
    const config = resolveTrainConfig({ ...SMALL, classConditional: true, condDropout: 0.3, classes: ['a', 'b', 'c'] }, 12);
    const data = dataset();
    const a = new Trainer(config, 9, data);
    const b = new Trainer(config, 9, data);
    for (const step of [0, 3, 7]) {
      const la = a.microBatch(step, 0).labels!;
      expect(Array.from(b.microBatch(step, 0).labels!)).toEqual(Array.from(la));
      const idx = a.indicesAt(step * 4, 4);
      la.forEach((l, r) => {
        if (data.labels![idx[r]] === 3) expect(l).toBe(3);
        else expect([data.labels![idx[r]], 3]).toContain(l);
      });
    }
    await a.dispose();
    await b.dispose();
  });
});

describe('class-conditional runs', () => {
  it('unetConfigOf gives numClasses only to class-conditional runs', () => {
    expect(unetConfigOf(resolveTrainConfig(SMALL))).not.toHaveProperty('numClasses');
    expect(unetConfigOf(resolveTrainConfig({ ...SMALL, classConditional: true, classes: ['x', 'y'] })).numClasses).toBe(2);
  });

  it('preview grids of a class-conditional run sample one class per image (no labels error, a PNG)', async () => {
    const config = resolveTrainConfig({ ...SMALL, classConditional: true, classes: ['a', 'b', 'c'] }, 12);
    const t = new Trainer(config, 3, dataset());
    const { png } = await previewGrid(t.model, t.ema, config, t.process);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    await t.dispose();
  });

  it('data-parallel workers (labels travel with each shard) give the in-process losses', async () => {
    const config = resolveTrainConfig({ ...SMALL, batchSize: 4, workers: 1, classConditional: true, condDropout: 0.3, classes: ['a', 'b', 'c'] }, 12);
    const one = new Trainer(config, 11, dataset());
    const two = new Trainer({ ...config, workers: 2 }, 11, dataset(), { parallel: { backend: 'cpu' } });
    expect(two.shards).toBe(2);
    try {
      for (let s = 0; s < 2; s++) {
        const a = await one.trainStep();
        const b = await two.trainStep();
        expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-4);
      }
    } finally {
      await one.dispose();
      await two.dispose();
    }
  }, 120_000);

  it.each([
    ['edm', 'edm'],
    ['vp', 'v'],
    ['ve', 'score'],
    ['cosine', 'x0'],
  ] as const)('trains and samples with guidance on schedule %s, objective %s (the adapters never see the labels)', async (schedule, objective) => {
    const config = resolveTrainConfig({ ...SMALL, schedule, objective, classConditional: true, classes: ['a', 'b', 'c'] }, 12);
    const t = new Trainer(config, 2, dataset());
    const { loss } = await t.trainStep();
    expect(Number.isFinite(loss)).toBe(true);
    const run = (W: number) =>
      sampleSeeds({ denoiser: familyDenoiser(guidedNetwork(tfjsNetwork(t.model), { labels: 1, nullClass: 3, scale: W }), config.schedule, config.objective, t.process), process: t.process, sampler: { name: 'euler', steps: 3 }, seeds: [4, 5], shape: [2, 3, 8, 8] });
    const [w1, w3] = [await run(1), await run(3)];
    expect(w1.x.every(Number.isFinite) && w3.x.every(Number.isFinite)).toBe(true);
    expect(Array.from(w1.x)).not.toEqual(Array.from(w3.x));
    await t.dispose();
  });

  it('refuses bad settings before any compute, naming the field', () => {
    expect(() => resolveTrainConfig({ ...SMALL, classConditional: true, condDropout: 1 })).toThrow(/condDropout \(--cond-dropout\) must be a number in \[0, 1\)/);
    expect(() => resolveTrainConfig({ ...SMALL, classConditional: true, condDropout: -0.1 })).toThrow(/condDropout/);
    expect(() => resolveTrainConfig({ ...SMALL, condDropout: 0.1 })).toThrow(/only applies to class-conditional runs/);
    expect(resolveTrainConfig({ ...SMALL, classConditional: true }).condDropout).toBe(0.1);
    const data = dataset();
    expect(() => new Trainer(resolveTrainConfig({ ...SMALL, classConditional: true, classes: ['a', 'b', 'c'] }), 1, { ...data, labels: undefined })).toThrow(/one label per training image/);
    expect(() => new Trainer(resolveTrainConfig({ ...SMALL, classConditional: true, classes: ['a', 'b'] }), 1, data)).toThrow(/labels must lie in 0\.\.2/);
  });

  it.each(['tfjs', 'onnxruntime'] as const)('resume repeats an uninterrupted class-conditional run exactly (gradients on %s)', async (gradients) => {
    const config = resolveTrainConfig({ ...SMALL, classConditional: true, condDropout: 0.25, classes: ['a', 'b', 'c'], steps: 4, ema: 0.9 }, 12);
    const data = dataset();
    const a = new Trainer(config, 17, data, { gradients });
    const lossesA: number[] = [];
    for (let i = 0; i < 4; i++) lossesA.push((await a.trainStep()).loss);
    const digestA = a.weightsDigest();
    await a.dispose();
    const b = new Trainer(config, 17, data, { gradients });
    const lossesB: number[] = [];
    for (let i = 0; i < 2; i++) lossesB.push((await b.trainStep()).loss);
    const bytes = b.checkpointBytes({});
    await b.dispose();
    const parsed = parseWeights(bytes);
    expect(parsed.tensors.some((t) => t.name === 'cemb.weight')).toBe(true);
    expect((parsed.meta.config as { numClasses?: number }).numClasses).toBe(3);
    const c = new Trainer(config, 17, data, { init: { parsed, preferEma: false }, resume: true, gradients });
    for (let i = 0; i < 2; i++) lossesB.push((await c.trainStep()).loss);
    expect(lossesB).toEqual(lossesA);
    expect(c.weightsDigest()).toBe(digestA);
    await c.dispose();
  }, 300_000);
});

describe('fine-tuning an unconditional model into a class-conditional one', () => {
  it('class rows keep nn.Embedding’s N(0, 1) start, the null row is zero: the null class is exactly the base model, a class is not', async () => {
    const data = dataset();
    const base = new Trainer(resolveTrainConfig({ ...SMALL, steps: 1 }), 3, { ...data, labels: undefined });
    const bytes = base.checkpointBytes({});
    const tuned = new Trainer(resolveTrainConfig({ ...SMALL, classConditional: true, classes: ['a', 'b', 'c'], steps: 1 }), 4, data, { init: { parsed: parseWeights(bytes), preferEma: false } });
    try {
      const table = tuned.model.namedVariables().find((v) => v.name === 'cemb.weight')!.variable;
      const [rows, cols] = table.shape;
      const values = table.dataSync();
      expect(rows).toBe(4);
      expect(Array.from(values.subarray(3 * cols)).every((v) => v === 0)).toBe(true);
      // the class rows are the fresh N(0, 1) init: RMS near 1 (3 x 32 draws)
      const rms = Math.sqrt(Array.from(values.subarray(0, 3 * cols)).reduce((s, v) => s + v * v, 0) / (3 * cols));
      expect(rms).toBeGreaterThan(0.7);
      expect(rms).toBeLessThan(1.3);
      const x = tf.tensor4d(Float32Array.from(uniforms(8, 0, 2 * 8 * 8 * 3)), [2, 8, 8, 3]);
      const t = tf.tensor1d([100, 700]);
      const plain = base.model.apply(x, t);
      const nullClass = tuned.model.apply(x, t, { labels: tf.tensor1d([3, 3], 'int32') });
      const someClass = tuned.model.apply(x, t, { labels: tf.tensor1d([0, 2], 'int32') });
      expect(Array.from(nullClass.dataSync())).toEqual(Array.from(plain.dataSync()));
      expect(tf.max(tf.abs(tf.sub(someClass, plain))).dataSync()[0]).toBeGreaterThan(1e-3);
      tf.dispose([x, t, plain, nullClass, someClass]);
    } finally {
      await base.dispose();
      await tuned.dispose();
    }
  }, 60_000);
});
