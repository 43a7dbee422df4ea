/**
 * Every layer type's gradients (inputs and parameters) against central finite differences, on the
 * cpu backend. Shapes are tiny so the whole file runs in about a second.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { attention, conv2d, groupNorm, linear, silu, timestepEmbedding, upsampleNearest2x } from '../../../src-main/network/layers';
import { gradCheck, randomTensor } from './gradcheck';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** No failures, and at least `minChecked` entries were compared. */
function expectGood(r: ReturnType<typeof gradCheck>, minChecked: number) {
  expect(r.failures).toEqual([]);
  expect(r.checked).toBeGreaterThanOrEqual(minChecked);
}

describe('layer gradients vs finite differences (cpu)', () => {
  it('conv 3x3, stride 1', () => {
    const ins = [randomTensor([2, 5, 6, 3], 1), randomTensor([3, 3, 3, 4], 2, 0.3), randomTensor([4], 3)];
    const r = gradCheck(([x, w, b]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D), ins, { names: ['x', 'w', 'b'], entries: 4 });
    expectGood(r, 2 * ins.length);
    tf.dispose(ins);
  });

  it('conv 3x3, stride 2 (even and odd sizes)', () => {
    for (const [h, w] of [[6, 6], [7, 5]]) {
      const ins = [randomTensor([2, h, w, 3], 4), randomTensor([3, 3, 3, 4], 5, 0.3), randomTensor([4], 6)];
      const r = gradCheck(([x, k, b]) => conv2d(x as tf.Tensor4D, k as tf.Tensor4D, b as tf.Tensor1D, 2), ins, { names: ['x', 'w', 'b'], entries: 4 });
      expectGood(r, 2 * ins.length);
      tf.dispose(ins);
    }
  });

  it('conv 1x1', () => {
    const ins = [randomTensor([2, 3, 4, 5], 7), randomTensor([1, 1, 5, 6], 8, 0.4), randomTensor([6], 9)];
    const r = gradCheck(([x, w, b]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D), ins, { names: ['x', 'w', 'b'], entries: 4 });
    expectGood(r, 2 * ins.length);
    tf.dispose(ins);
  });

  it('linear', () => {
    const ins = [randomTensor([3, 5], 10), randomTensor([5, 7], 11, 0.4), randomTensor([7], 12)];
    const r = gradCheck(([x, w, b]) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), ins, { names: ['x', 'w', 'b'], entries: 4 });
    expectGood(r, 2 * ins.length);
    tf.dispose(ins);
  });

  it('SiLU', () => {
    const ins = [randomTensor([2, 9], 13, 3)];
    expectGood(gradCheck(([x]) => silu(x), ins, { entries: 6 }), 2 * ins.length);
    tf.dispose(ins);
  });

  it('GroupNorm', () => {
    const ins = [randomTensor([2, 4, 3, 8], 14, 2), tf.add(1, randomTensor([8], 15, 0.5)), randomTensor([8], 16)];
    const r = gradCheck(([x, g, b]) => groupNorm(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 4), ins, { names: ['x', 'gamma', 'beta'], entries: 5 });
    expectGood(r, 2 * ins.length);
    tf.dispose(ins);
  });

  it('attention (GroupNorm, qkv 1x1, softmax, proj, residual)', () => {
    const C = 8;
    const ins = [
      randomTensor([2, 3, 3, C], 17, 1.5),
      tf.add(1, randomTensor([C], 18, 0.3)),
      randomTensor([C], 19, 0.3),
      randomTensor([1, 1, C, 3 * C], 20, 0.6),
      randomTensor([3 * C], 21, 0.3),
      randomTensor([1, 1, C, C], 22, 0.5),
      randomTensor([C], 23, 0.3),
    ];
    const r = gradCheck(
      ([x, normW, normB, qkvW, qkvB, projW, projB]) =>
        attention(
          x as tf.Tensor4D,
          {
            normW: normW as tf.Tensor1D,
            normB: normB as tf.Tensor1D,
            qkvW: qkvW as tf.Tensor4D,
            qkvB: qkvB as tf.Tensor1D,
            projW: projW as tf.Tensor4D,
            projB: projB as tf.Tensor1D,
          },
          4,
        ),
      ins,
      { names: ['x', 'n.weight', 'n.bias', 'qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias'], entries: 3 },
    );
    expectGood(r, 2 * ins.length);
    tf.dispose(ins);
  });

  it('nearest x2 upsample: values and input gradient', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = upsampleNearest2x(x);
    expect(Array.from(y.dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    tf.dispose([x, y]);
    const ins = [randomTensor([2, 3, 2, 3], 24)];
    expectGood(gradCheck(([v]) => upsampleNearest2x(v as tf.Tensor4D), ins, { entries: 6 }), 2 * ins.length);
    tf.dispose(ins);
  });

  it('time embedding: sinusoid values, MLP parameters and continuous t', () => {
    // [sin, cos] order and exp(-ln(10000) i / half) frequencies (torch_ref.py timestep_embedding)
    const e = timestepEmbedding(tf.tensor1d([0, 3]), 8);
    const v = e.arraySync();
    expect(v[0]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const f = [0, 1, 2, 3].map((i) => Math.exp((-Math.log(10000) * i) / 4));
    f.forEach((fi, i) => {
      expect(v[1][i]).toBeCloseTo(Math.sin(3 * fi), 6);
      expect(v[1][4 + i]).toBeCloseTo(Math.cos(3 * fi), 6);
    });
    e.dispose();

    const ins = [tf.tensor1d([2.5, 40.25, 7]), randomTensor([8, 16], 25, 0.35), randomTensor([16], 26, 0.35), randomTensor([16, 16], 27, 0.25), randomTensor([16], 28, 0.25)];
    const r = gradCheck(
      ([t, w0, b0, w2, b2]) => linear(silu(linear(timestepEmbedding(t as tf.Tensor1D, 8), w0 as tf.Tensor2D, b0 as tf.Tensor1D)), w2 as tf.Tensor2D, b2 as tf.Tensor1D),
      ins,
      { names: ['t', 'temb.0.weight', 'temb.0.bias', 'temb.2.weight', 'temb.2.bias'], entries: 3, h: 1e-2 },
    );
    expectGood(r, 2 * ins.length);
    tf.dispose(ins);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const ins = [randomTensor([1, 4, 4, 4], 29), randomTensor([3, 3, 4, 4], 30), randomTensor([4], 31)];
    gradCheck(([x, w, b]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, 2), ins, { entries: 2 });
    tf.dispose(ins);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the gradient checker itself', () => {
  it('flags a gradient that is 5% off', () => {
    const wrong = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const x = args[0] as tf.Tensor;
      (args[1] as tf.GradSaveFunc)([x]);
      return { value: tf.square(x), gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => tf.mul(dy, tf.mul(s, 2.1)) };
    });
    const ins = [randomTensor([4, 3], 32, 2)];
    const r = gradCheck(([x]) => wrong(x) as tf.Tensor, ins, { entries: 4 });
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.worst).toBeGreaterThan(0.04);
    tf.dispose(ins);
  });
});
