/**
 * Class-conditional UNet (issue 14 item 1): the class-embedding table `cemb.weight` (K + 1 rows,
 * row K = null class) added to the time embedding, in tfjs, in the exported ONNX graph (class_label
 * input, Gather) and in the ORT training graph (one-hot input, MatMul): the three must agree, and
 * the embedding's gradient must match finite differences.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../src-main/network/config';
import { validateUNetConfig } from '../../../src-main/network/config';
import { CLASS_EMBEDDING, unetParamSpecs } from '../../../src-main/network/architecture';
import { UNet } from '../../../src-main/network/unet';
import { readUNetWeights } from '../../../src-main/network/weights';
import { tfjsNetwork } from '../../../src-main/network/tfjs-network';
import { normals, uniforms } from '../../../src-main/diffusion/rng';
import { exportUNetToOnnx, META_KEYS, ONNX_INPUT_CLASS } from '../../../src-main/onnx/export';
import { inspectOnnxUNet } from '../../../src-main/onnx/inspect';
import { createOrtSession, ortNetwork, type OrtSession } from '../../../src-main/onnx/session';
import { shardLossAndGrads } from '../../../src-main/training/parallel/compute';
import { OrtGradientEngine } from '../../../src-main/training/onnx/engine';
import { gradCheck, randomTensor } from './gradcheck';
import { TINY_UNET } from '../../helpers/unet';

const K = 3;
const COND: UNetConfig = { ...TINY_UNET, channelMults: [...TINY_UNET.channelMults], attentionResolutions: [...TINY_UNET.attentionResolutions], numClasses: K };

beforeAll(async () => {
  await tf.setBackend('cpu');
});
const sessions: OrtSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.dispose();
});

describe('class-conditional UNet config and parameters', () => {
  it('adds cemb.weight [K + 1, 4·base] after the time MLP; unconditional configs are unchanged', () => {
    const specs = unetParamSpecs(COND);
    const plain = unetParamSpecs(TINY_UNET);
    expect(specs.map((s) => s.name)).toEqual([...plain.slice(0, 4).map((s) => s.name), CLASS_EMBEDDING, ...plain.slice(4).map((s) => s.name)]);
    const e = specs.find((s) => s.name === CLASS_EMBEDDING)!;
    expect(e.shape).toEqual([K + 1, 4 * COND.baseChannels]);
    expect(e.torchShape).toEqual(e.shape);
    expect(unetParamSpecs({ ...TINY_UNET, numClasses: 0 }).map((s) => s.name)).toEqual(plain.map((s) => s.name));
  });

  it('initialises the table N(0, 1) like torch.nn.Embedding', () => {
    const m = new UNet({ ...COND, numClasses: 200 }, { seed: 1 });
    const d = m.namedVariables().find((v) => v.name === CLASS_EMBEDDING)!.variable.dataSync();
    let mean = 0;
    let sq = 0;
    for (const v of d) {
      mean += v;
      sq += v * v;
    }
    mean /= d.length;
    const sd = Math.sqrt(sq / d.length - mean * mean);
    // 201 x 32 = 6432 draws: the mean's standard error is 0.0125
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    m.dispose();
  });

  it('refuses a bad numClasses, missing labels and labels on an unconditional network', () => {
    expect(() => validateUNetConfig({ ...COND, numClasses: -1 })).toThrow(/numClasses: must be an integer between 0/);
    expect(() => validateUNetConfig({ ...COND, numClasses: 1.5 })).toThrow(/numClasses/);
    const m = new UNet(COND, { seed: 2 });
    const x = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
    const t = tf.tensor1d([1, 2]);
    expect(() => m.apply(x, t)).toThrow(/class-conditional \(3 classes\); pass labels/);
    const plain = new UNet(TINY_UNET, { seed: 2 });
    expect(() => plain.apply(x, t, { labels: tf.tensor1d([0, 1], 'int32') })).toThrow(/unconditional/);
    tf.dispose([x, t]);
    m.dispose();
    plain.dispose();
  });

  it('different labels give different outputs; the output of row b depends on label b only', async () => {
    const m = new UNet(COND, { seed: 4 });
    const net = tfjsNetwork(m);
    const x = normals(9, 1, 2 * 3 * 8 * 8);
    const a = Float32Array.from(await net(x, [2, 3, 8, 8], 500, Int32Array.from([0, 3])));
    const b = Float32Array.from(await net(x, [2, 3, 8, 8], 500, Int32Array.from([1, 3])));
    const per = 3 * 8 * 8;
    expect(Array.from(a.subarray(per))).toEqual(Array.from(b.subarray(per)));
    let diff = 0;
    for (let i = 0; i < per; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeGreaterThan(1e-3);
    m.dispose();
  });
});

describe('class-embedding gradient', () => {
  it('∂/∂cemb.weight and the time-MLP weights match central finite differences (labels with the null class)', () => {
    const m = new UNet(COND, { seed: 3 });
    const x = randomTensor([3, 8, 8, 3], 5) as tf.Tensor4D;
    const t = tf.tensor1d([3, 400, 900]);
    const labels = tf.tensor1d([2, K, 0], 'int32');
    const vars = m.variables();
    const names = m.specs.map((s) => s.name);
    const which = [names.indexOf(CLASS_EMBEDDING), names.indexOf('temb.2.weight'), names.indexOf('temb.2.bias')];
    const r = gradCheck((ws) => m.apply(x, t, { weights: ws, labels }), vars, { which, entries: 4, names, seed: 17 });
    expect(r.failures).toEqual([]);
    expect(r.checked).toBeGreaterThanOrEqual(9);
    // rows of classes not in the batch (class 1) get exactly zero gradient
    const g = tf.tidy(() => tf.grads((w: tf.Tensor) => tf.sum(m.apply(x, t, { weights: vars.map((v, i) => (i === which[0] ? w : v)), labels })))([vars[which[0]]])[0]);
    const rows = g.arraySync() as number[][];
    expect(rows[1].every((v) => v === 0)).toBe(true);
    expect(rows[0].some((v) => v !== 0) && rows[2].some((v) => v !== 0) && rows[K].some((v) => v !== 0)).toBe(true);
    tf.dispose([x, t, labels, g]);
    m.dispose();
  });
});

describe('tfjs vs ONNX with a class input', () => {
  it('the exported graph (class_label int64, metadata lists the classes) equals tfjs on every label, through ortNetwork', async () => {
    const m = new UNet(COND, { seed: 6 });
    // a non-trivial table: the N(0,1) init scaled so classes differ clearly
    const bytes = exportUNetToOnnx({ config: COND, tensors: readUNetWeights(m) }, { prediction: 'eps', schedule: { kind: 'discrete' }, appVersion: 'test', classes: ['cat', 'dog', 'fox'] });
    const sig = inspectOnnxUNet(bytes);
    expect(sig.classes).toEqual(['cat', 'dog', 'fox']);
    expect(sig.metadata[META_KEYS.classes]).toBe('["cat","dog","fox"]');
    const session = await createOrtSession(bytes, { provider: 'cpu', log: () => {}, intraOpThreads: 1, reuse: false });
    sessions.push(session);
    expect(session.inputs.map((i) => i.name)).toContain(ONNX_INPUT_CLASS);
    const ort = ortNetwork(session);
    const ref = tfjsNetwork(m);
    const B = 4;
    const x = normals(21, 0, B * 3 * 8 * 8);
    const labels = Int32Array.from([0, 1, 2, K]);
    const got = await ort(x, [B, 3, 8, 8], 250, labels);
    const want = await ref(x, [B, 3, 8, 8], 250, labels);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    expect(worst).toBeLessThanOrEqual(1e-4 * scale);
    await expect(ort(x, [B, 3, 8, 8], 250)).rejects.toThrow(/class-conditional: give 4 class labels/);
    m.dispose();
  });

  it('a class-conditional ONNX file without its class list is refused on import with the fix', () => {
    const m = new UNet(COND, { seed: 6 });
    const bytes = exportUNetToOnnx({ config: COND, tensors: readUNetWeights(m) }, { prediction: 'eps', schedule: {}, appVersion: 'test' });
    m.dispose();
    // the exporter always writes a list; strip it to stand for a foreign export
    const text = Buffer.from(bytes);
    const at = text.indexOf(Buffer.from(META_KEYS.classes));
    expect(at).toBeGreaterThan(0);
    Buffer.from('sfumato.xxxxxxx').copy(text, at);
    expect(() => inspectOnnxUNet(new Uint8Array(text))).toThrow(/needs metadata sfumato\.classes/);
  });

  it('the ORT training graph (one-hot class input) gives the loss and every gradient of the tfjs model', async () => {
    const model = new UNet(COND, { seed: 7 });
    const rows = 3;
    const per = 8 * 8 * 3;
    const u = uniforms(11, 1, rows);
    const batch = {
      xIn: normals(11, 2, rows * per),
      target: normals(11, 3, rows * per),
      time: Float32Array.from(u, (v) => Math.floor(v * 1000)),
      weight: Float32Array.from(u, (v) => 0.5 + v),
      labels: Int32Array.from([1, K, 1]),
    };
    const ref = shardLossAndGrads(model, batch, rows, 4, undefined);
    const engine = await OrtGradientEngine.create(COND, rows, { threads: 1 });
    try {
      expect(engine.graph.params).toContain(CLASS_EMBEDDING);
      const weights = model.variables().map((v) => v.dataSync() as Float32Array);
      const got = await engine.lossAndGrads(weights, batch, 4);
      expect(got.loss).toBeCloseTo(ref.loss, 5);
      let worst = 0;
      ref.grads.forEach((tg, i) => {
        const r = tg.dataSync();
        let num = 0;
        let den = 0;
        for (let j = 0; j < r.length; j++) {
          num += (got.grads[i][j] - r[j]) ** 2;
          den += r[j] ** 2;
        }
        worst = Math.max(worst, Math.sqrt(num / Math.max(den, 1e-30)));
      });
      expect(worst).toBeLessThan(1e-4);
      await expect(engine.lossAndGrads(weights, { ...batch, labels: undefined }, 4)).rejects.toThrow(/class-conditional; the batch needs 3 labels/);
    } finally {
      tf.dispose(ref.grads);
      model.dispose();
      await engine.dispose();
    }
  });
});
