/**
 * LoRA fine-tuning through the real Trainer on real (emoji) images: the one-graph ORT engine
 * against the tfjs reparameterisation step by step, base weights frozen, step 0 equal to the base
 * model, checkpoints holding the merged model, exact resume (same losses, same adapter digest),
 * parameter counts, and the settings refused before any compute.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainConfig } from '../../../src-main/api/types';
import { parseWeights, serializeUNet, type ParsedWeights } from '../../../src-main/network/weights';
import { UNet } from '../../../src-main/network/unet';
import { adapterParamCount, loraAdapterSpecs, loraScale, mergeAdapters } from '../../../src-main/network/lora';
import { resolveTrainConfig, runParamCounts, TrainConfigError } from '../../../src-main/training/config';
import { LORA_BASE_PREFIX, Trainer, unetConfigOf, type TrainingData } from '../../../src-main/training/trainer';
import { tempDir } from '../../helpers/library';
import { relDiff } from '../../helpers/numeric';
import { emojiTrainingData } from '../../helpers/emoji-data';

let lib: ReturnType<typeof tempDir>;
let data: TrainingData;
const SMALL: Partial<TrainConfig> = { imageSize: 8, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, batchSize: 3, dropout: 0, ema: 0.9, steps: 6, lr: 1e-3 };
const LORA = { rank: 2, alpha: 4, targets: ['attn', 'conv', 'linear'] as ('attn' | 'conv' | 'linear')[] };

let baseParsed: ParsedWeights;

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  lib = tempDir();
  data = await emojiTrainingData(lib.dir);
  const base = new UNet(unetConfigOf(resolveTrainConfig(SMALL)), { seed: 77 });
  baseParsed = parseWeights(serializeUNet(base));
  base.dispose();
});
afterAll(() => lib.cleanup());

describe('LoRA trainer', () => {
  it('one-graph ORT equals tfjs step by step; the base stays frozen; checkpoints hold base + α/r·up·down', async () => {
    const config = resolveTrainConfig({ ...SMALL, lora: LORA }, data.count);
    const init = { init: { parsed: baseParsed, preferEma: true } };
    const ref = new Trainer(config, 3, data, { ...init, gradients: 'tfjs' });
    const one = new Trainer(config, 3, data, { ...init, gradients: 'onnxruntime' });
    const full = new Trainer(resolveTrainConfig(SMALL, data.count), 3, data, init);
    try {
      // step 0: up = 0, so the first loss is the base model's (the full fine-tune sees the same batch)
      const a0 = await ref.trainStep();
      const b0 = await one.trainStep();
      const f0 = await full.trainStep();
      expect(Math.abs(a0.loss - f0.loss) / f0.loss).toBeLessThan(1e-6);
      expect(Math.abs(b0.loss - a0.loss) / a0.loss).toBeLessThan(1e-5);
      for (let k = 1; k < 6; k++) {
        const a = await ref.trainStep();
        const b = await one.trainStep();
        expect(Math.abs(b.loss - a.loss) / a.loss, `loss at step ${k + 1}`).toBeLessThan(1e-5);
        expect(Math.abs(b.gradNorm - a.gradNorm) / a.gradNorm, `grad norm at step ${k + 1}`).toBeLessThan(1e-4);
      }
      const ta = ref.adapterTensors();
      const tb = one.adapterTensors();
      ta.forEach((t, i) => expect(relDiff(tb[i].data, t.data), t.name).toBeLessThan(1e-4));
      // the adapters moved (up left zero)
      expect(Math.max(...ta.filter((t) => t.name.endsWith('lora_up.weight')).map((t) => Math.max(...t.data.map(Math.abs))))).toBeGreaterThan(1e-4);
      // base frozen: the checkpoint's base.* is the init model, the plain names the merge
      const st = one.namedState();
      const byName = new Map(st.map((t) => [t.name, t]));
      const specs = one.model.specs;
      const baseNow = specs.map((s) => byName.get(LORA_BASE_PREFIX + s.name)!.data);
      const baseInit = specs.map((s) => baseParsed.tensors.find((t) => t.name === s.name)!.data);
      baseNow.forEach((d, i) => expect(Array.from(d)).toEqual(Array.from(baseInit[i])));
      const adapters = loraAdapterSpecs(one.model.config, config.lora!);
      const merged = mergeAdapters(one.model.config, baseInit, adapters, tb.map((t) => t.data), loraScale(config.lora!));
      specs.forEach((s, i) => expect(relDiff(byName.get(s.name)!.data, merged[i]), s.name).toBeLessThan(1e-6));
      expect(one.paramCounts().trainableParams).toBe(adapterParamCount(adapters));
      expect(runParamCounts(config)).toEqual(one.paramCounts());
    } finally {
      await Promise.all([ref.dispose(), one.dispose(), full.dispose()]);
    }
  });

  it('gradAccum 2 with clipping and AdamW: one-graph ORT (gradient graph with frozen inputs) equals tfjs', async () => {
    const config = resolveTrainConfig({ ...SMALL, gradAccum: 2, gradClip: 0.05, optimizer: 'adamw', weightDecay: 0.01, lora: LORA }, data.count);
    const init = { init: { parsed: baseParsed, preferEma: true } };
    const ref = new Trainer(config, 4, data, { ...init, gradients: 'tfjs' });
    const one = new Trainer(config, 4, data, { ...init, gradients: 'onnxruntime' });
    try {
      for (let k = 0; k < 4; k++) {
        const a = await ref.trainStep();
        const b = await one.trainStep();
        expect(Math.abs(b.loss - a.loss) / a.loss, `loss at step ${k + 1}`).toBeLessThan(1e-5);
        expect(Math.abs(b.gradNorm - a.gradNorm) / a.gradNorm, `grad norm at step ${k + 1}`).toBeLessThan(1e-4);
      }
      expect(one.adapterTensors().map((t) => t.name)).toEqual(ref.adapterTensors().map((t) => t.name));
    } finally {
      await Promise.all([ref.dispose(), one.dispose()]);
    }
  });

  it('resumes exactly: the same losses and adapter digest as the uninterrupted run', async () => {
    const config = resolveTrainConfig({ ...SMALL, lora: LORA }, data.count);
    const init = { init: { parsed: baseParsed, preferEma: true }, gradients: 'onnxruntime' as const };
    const whole = new Trainer(config, 9, data, init);
    const first = new Trainer(config, 9, data, init);
    try {
      const losses: number[] = [];
      for (let k = 0; k < 6; k++) losses.push((await whole.trainStep()).loss);
      for (let k = 0; k < 3; k++) await first.trainStep();
      const ck = parseWeights(first.checkpointBytes({}));
      expect(ck.meta.adapterDigest).toBe(first.adapterDigest());
      const resumed = new Trainer(config, 9, data, { init: { parsed: ck, preferEma: false }, resume: true, gradients: 'onnxruntime' });
      try {
        expect(resumed.step).toBe(3);
        const after: number[] = [];
        for (let k = 3; k < 6; k++) after.push((await resumed.trainStep()).loss);
        expect(after).toEqual(losses.slice(3));
        expect(resumed.adapterDigest()).toBe(whole.adapterDigest());
        expect(resumed.weightsDigest()).toBe(whole.weightsDigest());
      } finally {
        await resumed.dispose();
      }
    } finally {
      await Promise.all([whole.dispose(), first.dispose()]);
    }
  });

  it('refuses bad settings before any compute, naming the field', () => {
    const field = (o: Record<string, unknown>) => {
      try {
        resolveTrainConfig({ ...SMALL, lora: o });
      } catch (e) {
        expect(e).toBeInstanceOf(TrainConfigError);
        return (e as TrainConfigError).field;
      }
      throw new Error('accepted');
    };
    expect(field({ rank: 0 })).toBe('lora.rank');
    expect(field({ rank: 9, targets: ['linear'] })).toBe('lora.rank');
    expect(field({ rank: 2, alpha: -1 })).toBe('lora.alpha');
    expect(field({ rank: 2, targets: ['attn', 'ffn'] })).toBe('lora.targets');
    // LoRA without a model to adapt
    expect(() => new Trainer(resolveTrainConfig({ ...SMALL, lora: LORA }, data.count), 1, data)).toThrow(/--init-model ID or --init-checkpoint ID/);
  });
});
