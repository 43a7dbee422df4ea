/**
 * LoRA / LoCon adapters (network/lora.ts, lora-tf.ts; the ORT graph in training/onnx/train-graph.ts):
 * - forward: the adapted network (tfjs reparameterisation and the ORT graph) equals a plain UNet
 *   holding the merged weights W + α/r·up·down (mergeAdapters, computed independently in float64);
 * - gradients: by the chain rule through W' = W + s·B·A, ∂L/∂B = s·G·Aᵀ and ∂L/∂A = s·Bᵀ·G with G
 *   the full-model gradient ∂L/∂W' (Hu et al. 2021, eq. 3), checked for tfjs and the ORT graph;
 * - settings: bad rank / alpha / targets are refused with the field named.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../src-main/network/config';
import { UNet } from '../../../src-main/network/unet';
import { adapterTensorSpecs, initAdapters, LoraConfigError, loraAdapterSpecs, loraScale, mergeAdapters, validateLoraConfig, type LoraConfig } from '../../../src-main/network/lora';
import { loraWeightsTf } from '../../../src-main/network/lora-tf';
import { shardLoss } from '../../../src-main/training/parallel/shards';
import { toTorchLayout } from '../../../src-main/training/onnx/step-engine';
import { buildTrainGraph, TRAIN_GRAPH_LOSS } from '../../../src-main/training/onnx/train-graph';
import { batchFeeds } from '../../../src-main/training/onnx/engine';
import { createOrtSession } from '../../../src-main/onnx/session';
import { normals } from '../../../src-main/diffusion/index';
import { relDiff } from '../../helpers/numeric';

// every layer type: attention at 8 and 4 and in the middle, skip convs, down/up sampling
const CFG: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [8, 4], groups: 4, dropout: 0, timeInput: 'discrete' };
const LORA: LoraConfig = { rank: 2, alpha: 3, targets: ['attn', 'conv', 'linear'] };
const B = 2;

/** Adapters with a non-zero `up` (the initial ones have up = 0, which would test nothing). */
function trainedAdapters(): Float32Array[] {
  const adapters = loraAdapterSpecs(CFG, LORA);
  const t = initAdapters(adapters, 5);
  return t.map((x, i) => (i % 2 === 1 ? normals(9, i, x.length, 0).map((v) => 0.05 * v) : x));
}

function batch() {
  const n = B * 8 * 8 * 3;
  return { xIn: normals(1, 1, n, 0), target: normals(1, 2, n, 0), time: new Float32Array([3, 700]), weight: new Float32Array([1, 0.5]) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LoRA settings', () => {
  it('refuses rank 0, alpha ≤ 0, unknown targets and a rank above min(in, out), naming the field', () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(LoraConfigError);
        return (e as LoraConfigError).field;
      }
      throw new Error('no error');
    };
    expect(field(() => validateLoraConfig({ rank: 0 }))).toBe('rank');
    expect(field(() => validateLoraConfig({ rank: 2.5 }))).toBe('rank');
    expect(field(() => validateLoraConfig({ rank: 4, alpha: 0 }))).toBe('alpha');
    expect(field(() => validateLoraConfig({ rank: 4, alpha: Number.NaN }))).toBe('alpha');
    expect(field(() => validateLoraConfig({ rank: 4, targets: ['attn', 'mlp'] }))).toBe('targets');
    expect(field(() => validateLoraConfig({ rank: 4, targets: [] }))).toBe('targets');
    // temb.0 maps 8 -> 32: min(in, out) = 8
    expect(field(() => loraAdapterSpecs(CFG, { rank: 9, alpha: 9, targets: ['linear'] }))).toBe('rank');
    expect(() => loraAdapterSpecs(CFG, { rank: 9, alpha: 9, targets: ['linear'] })).toThrow(/min\(in, out\) = 8 of temb\.0/);
    expect(validateLoraConfig({ rank: 8 })).toEqual({ rank: 8, alpha: 8, targets: ['attn', 'conv'] });
  });

  it('names modules kohya-style and adapts what the targets say', () => {
    const a = loraAdapterSpecs(CFG, LORA);
    const keys = a.map((x) => x.key);
    expect(keys).toContain('lora_unet_temb_0');
    expect(keys).toContain('lora_unet_mida_qkv');
    expect(keys).toContain('lora_unet_down_0_0_c1');
    expect(keys).not.toContain('lora_unet_cin');
    expect(keys).not.toContain('lora_unet_cout');
    const c1 = a.find((x) => x.key === 'lora_unet_down_0_0_c1')!;
    expect(c1.down).toBe('lora_unet_down_0_0_c1.lora_down.weight');
    expect(c1.downShape).toEqual([2, 8, 3, 3]);
    expect(c1.upShape).toEqual([8, 2, 1, 1]);
    expect(loraAdapterSpecs(CFG, { ...LORA, targets: ['attn'] }).every((x) => /_(qkv|proj)$/.test(x.key))).toBe(true);
    // up = 0 at init: ΔW = 0
    const t = initAdapters(a, 1);
    expect(t.filter((_, i) => i % 2 === 1).every((u) => u.every((v) => v === 0))).toBe(true);
    expect(t[0].some((v) => v !== 0)).toBe(true);
  });
});

describe('LoRA forward and gradients (tfjs)', () => {
  it('the reparameterised forward equals the merged model, and the adapter gradients follow the chain rule', () => {
    const adapters = loraAdapterSpecs(CFG, LORA);
    const scale = loraScale(LORA);
    const base = new UNet(CFG, { seed: 3 });
    const values = trainedAdapters();
    const merged = mergeAdapters(
      CFG,
      base.variables().map((v) => v.dataSync() as Float32Array),
      adapters,
      values,
      scale,
    );
    const ref = new UNet(CFG, { seed: 0 });
    ref.variables().forEach((v, i) => v.assign(tf.tensor(merged[i], v.shape)));
    const specs = adapterTensorSpecs(adapters);
    const vars = specs.map((s, i) => tf.variable(tf.tensor(values[i], s.shape), true, `lora-test/${s.name}`));
    const mb = batch();
    const x = tf.tensor4d(mb.xIn, [B, 8, 8, 3]);
    const t = tf.tensor1d(mb.time);
    const y = tf.tensor4d(mb.target, [B, 8, 8, 3]);
    const w = tf.tensor4d(mb.weight, [B, 1, 1, 1]);
    try {
      const a = tf.tidy(() => base.apply(x, t, { weights: loraWeightsTf(base.variables(), base.specs, adapters, vars, scale) }).dataSync());
      const b = tf.tidy(() => ref.apply(x, t).dataSync());
      expect(relDiff(a, b)).toBeLessThan(1e-5);
      // the adapters changed the output (else the check above would be empty)
      const plain = tf.tidy(() => base.apply(x, t).dataSync());
      expect(relDiff(plain, b)).toBeGreaterThan(1e-3);

      const lora = tf.variableGrads(() => shardLoss(base.apply(x, t, { weights: loraWeightsTf(base.variables(), base.specs, adapters, vars, scale) }), y, w, B), vars);
      const full = tf.variableGrads(() => shardLoss(ref.apply(x, t), y, w, B), ref.variables());
      const refSpecs = ref.specs;
      adapters.forEach((ad, k) => {
        const pi = refSpecs.findIndex((s) => s.name === ad.param);
        const G = toTorchLayout(refSpecs[pi], full.grads[ref.variables()[pi].name].dataSync() as Float32Array); // [out, fanIn]
        const r = LORA.rank;
        const A = values[2 * k];
        const Bu = values[2 * k + 1];
        const dUp = new Float64Array(ad.out * r);
        const dDown = new Float64Array(r * ad.fanIn);
        for (let o = 0; o < ad.out; o++)
          for (let j = 0; j < ad.fanIn; j++) {
            const g = G[o * ad.fanIn + j] * scale;
            for (let q = 0; q < r; q++) {
              dUp[o * r + q] += g * A[q * ad.fanIn + j];
              dDown[q * ad.fanIn + j] += g * Bu[o * r + q];
            }
          }
        expect(relDiff(lora.grads[vars[2 * k + 1].name].dataSync(), dUp), `∂L/∂up of ${ad.key}`).toBeLessThan(1e-4);
        expect(relDiff(lora.grads[vars[2 * k].name].dataSync(), dDown), `∂L/∂down of ${ad.key}`).toBeLessThan(1e-4);
      });
      tf.dispose([lora.value, full.value, ...Object.values(lora.grads), ...Object.values(full.grads)]);
    } finally {
      tf.dispose([x, t, y, w, ...vars]);
      base.dispose();
      ref.dispose();
    }
  });
});

describe('LoRA in the ONNX Runtime training graph', () => {
  it('gives the merged model\'s loss and the tfjs adapter gradients', async () => {
    const adapters = loraAdapterSpecs(CFG, LORA);
    const scale = loraScale(LORA);
    const base = new UNet(CFG, { seed: 4 });
    const values = trainedAdapters();
    const specs = adapterTensorSpecs(adapters);
    const vars = specs.map((s, i) => tf.variable(tf.tensor(values[i], s.shape), true, `lora-ort/${s.name}`));
    const mb = batch();
    const graph = buildTrainGraph(CFG, B, { layout: 'torch', lora: { adapters, scale } });
    expect(graph.params).toEqual(specs.map((s) => s.name));
    const session = await createOrtSession(graph.model, { strict: true, reuse: false });
    try {
      const ort = session.ort;
      const feeds = batchFeeds(ort, CFG, B, graph.masks, mb, B, undefined, 'test');
      const baseVals = base.variables().map((v) => v.dataSync() as Float32Array);
      graph.frozen.forEach((f, i) => (feeds[f.name] = new ort.Tensor('float32', toTorchLayout(base.specs[i], baseVals[i]), f.dims)));
      graph.params.forEach((n, i) => (feeds[n] = new ort.Tensor('float32', values[i], graph.paramDims[i])));
      const out = await session.run(feeds);
      const x = tf.tensor4d(mb.xIn, [B, 8, 8, 3]);
      const t = tf.tensor1d(mb.time);
      const y = tf.tensor4d(mb.target, [B, 8, 8, 3]);
      const w = tf.tensor4d(mb.weight, [B, 1, 1, 1]);
      const ref = tf.variableGrads(() => shardLoss(base.apply(x, t, { weights: loraWeightsTf(base.variables(), base.specs, adapters, vars, scale) }), y, w, B), vars);
      const loss = (out[TRAIN_GRAPH_LOSS].data as Float32Array)[0];
      expect(Math.abs(loss - ref.value.dataSync()[0]) / loss).toBeLessThan(1e-5);
      graph.grads.forEach((gname, i) => {
        expect(relDiff(out[gname].data as Float32Array, ref.grads[vars[i].name].dataSync()), `gradient of ${graph.params[i]}`).toBeLessThan(1e-4);
      });
      tf.dispose([x, t, y, w, ref.value, ...Object.values(ref.grads)]);
    } finally {
      await session.dispose();
      tf.dispose(vars);
      base.dispose();
    }
  });
});
