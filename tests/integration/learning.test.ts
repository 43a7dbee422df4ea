/**
 * End-to-end learning check of the train and sample paths together: a tiny UNet trained a few
 * hundred steps on a one-colour dataset must produce samples whose colour moves to the data's
 * (red high, green and blue low). A layout, scaling or time-input mismatch between training and
 * sampling fails this even when every loss goes down.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNoise, planSampler, runSampler, startState, validateSamplerSettings } from '../../src-main/diffusion/index';
import { tfjsNetwork } from '../../src-main/network/tfjs-network';
import { selectTrainingBackend } from '../../src-main/training/backends/ladder';
import { resolveTrainConfig } from '../../src-main/training/config';
import { familyDenoiser } from '../../src-main/diffusion/model-family';
import { Trainer } from '../../src-main/training/trainer';

beforeAll(async () => {
  tf.enableProdMode();
  await selectTrainingBackend({ override: 'wasm' });
});

describe('learning', () => {
  it('samples take the colour of a one-colour dataset after 300 steps', async () => {
    const size = 8;
    const count = 16;
    const pixels = new Uint8Array(count * size * size * 3);
    for (let i = 0; i < count * size * size; i++) pixels.set([230, 40, 40], i * 3);
    const config = resolveTrainConfig(
      { imageSize: size, baseChannels: 16, channelMults: [1, 2], attentionResolutions: [], groups: 4, batchSize: 8, lr: 1e-3, steps: 300, ema: 0.99, hflip: false, workers: 1 },
      count,
    );
    const t = new Trainer(config, 0, { pixels, count, size, channels: 3 });
    for (let k = 0; k < config.steps; k++) await t.trainStep();
    const settings = validateSamplerSettings({ name: 'ddim', steps: 20 }, t.process);
    const plan = planSampler(settings, t.process);
    const noise = batchNoise([1, 2, 3, 4], 3 * size * size);
    const den = familyDenoiser(tfjsNetwork(t.model, t.ema.shadows()), config.schedule, config.objective, t.process);
    const { x } = await runSampler(den, startState(plan, noise.initial()), [4, 3, size, size], settings, t.process, { noise });
    const plane = size * size;
    const mean = [0, 1, 2].map((c) => {
      let s = 0;
      for (let b = 0; b < 4; b++) for (let p = 0; p < plane; p++) s += x[(b * 3 + c) * plane + p];
      return s / (4 * plane);
    });
    // data: red 0.80, green and blue -0.69 in [-1, 1]
    expect(mean[0]).toBeGreaterThan(0.2);
    expect(mean[1]).toBeLessThan(-0.1);
    expect(mean[2]).toBeLessThan(-0.1);
    await t.dispose();
  }, 300_000); // 300 real training steps; generous for a loaded 2-core machine
});
