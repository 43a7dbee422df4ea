/**
 * The trainer in-process on the cpu backend with real (emoji) images at 8 px: resume repeats an
 * uninterrupted run exactly, no tensor leaks across steps, every objective/schedule trains.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainConfig } from '../../src-main/api/types';
import { parseWeights } from '../../src-main/network/weights';
import { resolveTrainConfig } from '../../src-main/training/config';
import { Trainer, type TrainingData } from '../../src-main/training/trainer';
import { tempDir } from '../helpers/library';
import { emojiTrainingData } from '../helpers/emoji-data';

let lib: ReturnType<typeof tempDir>;
let data: TrainingData;

const SMALL: Partial<TrainConfig> = {
  imageSize: 8,
  baseChannels: 8,
  channelMults: [1, 2],
  attentionResolutions: [4],
  groups: 4,
  batchSize: 3,
};

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  lib = tempDir();
  data = await emojiTrainingData(lib.dir);
});
afterAll(() => lib.cleanup());

describe('trainer', () => {
  it.each(['tfjs', 'onnxruntime'] as const)('resuming from a checkpoint repeats the losses and weights of an uninterrupted run (gradients on %s)', async (gradients) => {
    const config = resolveTrainConfig({ ...SMALL, gradAccum: 2, dropout: 0.1, warmupSteps: 2, lrSchedule: 'cosine', steps: 6, optimizer: 'adamw', weightDecay: 0.01, ema: 0.9 }, data.count);
    const a = new Trainer(config, 17, data, { gradients });
    const lossesA: number[] = [];
    for (let i = 0; i < 6; i++) lossesA.push((await a.trainStep()).loss);
    const digestA = a.weightsDigest();
    const emaA = Array.from(a.ema.shadows()[0].dataSync());
    await a.dispose();

    const b = new Trainer(config, 17, data, { gradients });
    const lossesB: number[] = [];
    for (let i = 0; i < 3; i++) lossesB.push((await b.trainStep()).loss);
    const bytes = b.checkpointBytes({});
    await b.dispose();
    const c = new Trainer(config, 17, data, { init: { parsed: parseWeights(bytes), preferEma: false }, resume: true, gradients });
    expect(c.step).toBe(3);
    for (let i = 0; i < 3; i++) lossesB.push((await c.trainStep()).loss);
    expect(lossesB).toEqual(lossesA);
    expect(c.weightsDigest()).toBe(digestA);
    expect(Array.from(c.ema.shadows()[0].dataSync())).toEqual(emaA);
    await c.dispose();
  }, 300_000); // real training twice over; generous for a loaded 2-core machine

  it('a different seed gives a different run', async () => {
    const config = resolveTrainConfig({ ...SMALL, steps: 2 }, data.count);
    const a = new Trainer(config, 1, data);
    const b = new Trainer(config, 2, data);
    expect((await a.trainStep()).loss).not.toBe((await b.trainStep()).loss);
    a.dispose();
    b.dispose();
  });

  it.each(['tfjs', 'onnxruntime'] as const)('does not leak tensors: the count after step 2 equals the count after step 20 (gradients on %s)', async (gradients) => {
    const config = resolveTrainConfig({ ...SMALL, imageSize: 8, channelMults: [1], attentionResolutions: [8], gradAccum: 2, steps: 20 }, data.count);
    const t = new Trainer(config, 5, data, { gradients });
    await t.trainStep();
    await t.trainStep();
    const after2 = tf.memory().numTensors;
    for (let i = 2; i < 20; i++) await t.trainStep();
    expect(tf.memory().numTensors).toBe(after2);
    t.dispose();
  });

  const combos: [string, Partial<TrainConfig>][] = [
    ['cosine/v/min-snr', { schedule: 'cosine' as never, objective: 'v', weighting: 'min-snr' }],
    ['linear/x0/p2', { objective: 'x0', weighting: 'p2' }],
    ['vp/score', { schedule: 'vp' as never, objective: 'score' }],
    ['subvp/eps', { schedule: 'subvp' as never, objective: 'eps' }],
    ['ve/eps', { schedule: 've' as never, objective: 'eps' }],
    ['edm/edm', { schedule: 'edm' as never, objective: 'edm' }],
  ];
  for (const [label, o] of combos) {
    it(`trains ${label} with finite losses and gradient norms`, async () => {
      const config = resolveTrainConfig({ ...SMALL, ...o, steps: 2 }, data.count);
      const t = new Trainer(config, 3, data);
      for (let i = 0; i < 2; i++) {
        const r = await t.trainStep();
        expect(Number.isFinite(r.loss) && r.loss > 0).toBe(true);
        expect(Number.isFinite(r.gradNorm) && r.gradNorm > 0).toBe(true);
      }
      t.dispose();
    });
  }

  it('ONNX Runtime gradients train the same run as tfjs (first steps agree to float32 rounding)', async () => {
    const config = resolveTrainConfig({ ...SMALL, steps: 3, gradAccum: 2, schedule: 'cosine' as never, objective: 'v', weighting: 'min-snr' }, data.count);
    const a = new Trainer(config, 9, data);
    const b = new Trainer(config, 9, data, { gradients: 'onnxruntime' });
    for (let i = 0; i < 3; i++) {
      const ra = await a.trainStep();
      const rb = await b.trainStep();
      expect(Math.abs(rb.loss - ra.loss) / ra.loss).toBeLessThan(1e-4);
      expect(Math.abs(rb.gradNorm - ra.gradNorm) / ra.gradNorm).toBeLessThan(1e-3);
    }
    await a.dispose();
    await b.dispose();
  });
});
