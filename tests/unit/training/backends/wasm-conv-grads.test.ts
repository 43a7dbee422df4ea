/**
 * The wasm backend with Sfumato's conv-gradient kernels: gradients of every layer type and of a
 * whole tiny UNet match the cpu backend (the reference), conv gradients on wasm also match finite
 * differences, the fast paths are the ones that ran, and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../../src-main/network/config';
import { attention, conv2d, groupNorm, linear, silu, timestepEmbedding, upsampleNearest2x } from '../../../../src-main/network/layers';
import { UNet } from '../../../../src-main/network/unet';
import { initWasmBackend } from '../../../../src-main/training/backends/wasm';
import { wasmConvGradOptions, wasmConvGradStats } from '../../../../src-main/training/backends/wasm-conv-grads';
import { gradCheck, randomData } from '../../network/gradcheck';
import { TINY_UNET } from '../../../helpers/unet';

beforeAll(async () => {
  await initWasmBackend();
});

type Spec = { shape: number[]; seed: number; scale?: number; offset?: number };
type Fn = (xs: tf.Tensor[]) => tf.Tensor;

/** Gradients of sum(f(inputs) * R) w.r.t. every input, computed on `backend`, as plain arrays. */
function gradsOn(backend: 'cpu' | 'wasm', f: Fn, specs: Spec[]): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const ins = specs.map((s) => tf.add(tf.tensor(randomData(s.shape.reduce((a, b) => a * b, 1), s.seed, s.scale ?? 1), s.shape), s.offset ?? 0));
    const outShape = f(ins).shape;
    const R = tf.tensor(randomData(outShape.reduce((a, b) => a * b, 1), 999), outShape);
    const gs = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), R)))(ins);
    return gs.map((g) => g.dataSync() as Float32Array);
  });
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return err / Math.max(scale, 1e-12);
}

function expectSameGrads(f: Fn, specs: Spec[], tol = 1e-5) {
  const ref = gradsOn('cpu', f, specs);
  const got = gradsOn('wasm', f, specs);
  expect(tf.getBackend()).toBe('wasm');
  ref.forEach((r, i) => {
    expect(got[i].length).toBe(r.length);
    expect(maxRelErr(r, got[i]), `input ${i}`).toBeLessThan(tol);
  });
}

const pad1: [[number, number], [number, number], [number, number], [number, number]] = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

describe('wasm conv gradient kernels vs cpu', () => {
  it.each([
    ['3x3 s1 same', [2, 8, 8, 5], [3, 3, 5, 4], 1, 'same'],
    ['3x3 s1 valid, odd sizes', [2, 7, 6, 5], [3, 3, 5, 4], 1, 'valid'],
    ['3x3 s2 PyTorch pad 1, even', [2, 8, 8, 5], [3, 3, 5, 4], 2, pad1],
    ['3x3 s2 PyTorch pad 1, odd', [2, 7, 9, 3], [3, 3, 3, 6], 2, pad1],
    ['3x3 s2 same (asymmetric pad)', [1, 8, 6, 4], [3, 3, 4, 4], 2, 'same'],
    ['3x3 s2 valid', [2, 9, 9, 2], [3, 3, 2, 3], 2, 'valid'],
    ['3x3 s1 explicit asymmetric pad', [2, 6, 7, 3], [3, 3, 3, 4], 1, [[0, 0], [2, 0], [1, 1], [0, 0]]],
    ['3x3 s1 explicit pad, wide shift', [1, 5, 6, 2], [3, 3, 2, 3], 1, [[0, 0], [0, 2], [2, 0], [0, 0]]],
    ['1x1 s1', [2, 4, 4, 6], [1, 1, 6, 9], 1, 'same'],
    ['5x5 s1 same', [1, 6, 6, 2], [5, 5, 2, 3], 1, 'same'],
    ['2x2 s2 valid', [2, 6, 6, 3], [2, 2, 3, 4], 2, 'valid'],
  ] as const)('%s', (_name, xShape, wShape, stride, pad) => {
    const before = { ...wasmConvGradStats };
    expectSameGrads(([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad as 'same'), [
      { shape: [...xShape], seed: 1 },
      { shape: [...wShape], seed: 2, scale: 0.5 },
    ]);
    expect(wasmConvGradStats.inputFallback).toBe(before.inputFallback);
    expect(wasmConvGradStats.inputFast).toBe(before.inputFast + 1);
    expect(wasmConvGradStats.filter).toBe(before.filter + 1);
  });

  it("falls back to tfjs's own input-gradient kernel when asked (and it still works)", () => {
    const before = { ...wasmConvGradStats };
    wasmConvGradOptions.useOriginalInputKernel = true;
    try {
      expectSameGrads(([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, pad1), [
        { shape: [2, 6, 6, 3], seed: 40 },
        { shape: [3, 3, 3, 4], seed: 41, scale: 0.5 },
      ]);
    } finally {
      wasmConvGradOptions.useOriginalInputKernel = false;
    }
    expect(wasmConvGradStats.inputFallback).toBe(before.inputFallback + 1);
  });

  it('chunked im2col (batch split) gives the same weight gradient', () => {
    const saved = wasmConvGradOptions.im2colBytes;
    try {
      wasmConvGradOptions.im2colBytes = 4 * 8 * 8 * 9 * 5 * 2; // two images per chunk, 5 images
      expectSameGrads(([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [
        { shape: [5, 8, 8, 5], seed: 3 },
        { shape: [3, 3, 5, 4], seed: 4, scale: 0.5 },
      ]);
    } finally {
      wasmConvGradOptions.im2colBytes = saved;
    }
  });

  it('conv gradients on wasm match finite differences', () => {
    tf.setBackend('wasm');
    for (const [stride, pad] of [
      [1, 'same'],
      [2, pad1],
    ] as const) {
      const ins = [tf.tensor(randomData(2 * 6 * 6 * 3, 5), [2, 6, 6, 3]), tf.tensor(randomData(3 * 3 * 3 * 4, 6, 0.4), [3, 3, 3, 4])];
      const r = gradCheck(([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad as 'same'), ins, { entries: 4 });
      expect(r.failures).toEqual([]);
      tf.dispose(ins);
    }
  });
});

describe('every layer type: wasm gradients equal cpu gradients', () => {
  it('conv 3x3, stride-2 conv, 1x1 conv (layers.conv2d with bias)', () => {
    for (const [k, stride] of [
      [3, 1],
      [3, 2],
      [1, 1],
    ] as const) {
      expectSameGrads(([x, w, b]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, stride), [
        { shape: [2, 8, 8, 4], seed: 7 },
        { shape: [k, k, 4, 6], seed: 8, scale: 0.5 },
        { shape: [6], seed: 9 },
      ]);
    }
  });

  it('linear and SiLU', () => {
    expectSameGrads(([x, w, b]) => silu(linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D)), [
      { shape: [3, 5], seed: 10 },
      { shape: [5, 7], seed: 11 },
      { shape: [7], seed: 12 },
    ]);
  });

  it('GroupNorm', () => {
    expectSameGrads(([x, g, b]) => groupNorm(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 4), [
      { shape: [2, 4, 3, 8], seed: 13, scale: 2 },
      { shape: [8], seed: 14, scale: 0.5, offset: 1 },
      { shape: [8], seed: 15 },
    ]);
  });

  it('attention', () => {
    expectSameGrads(
      ([x, nW, nB, qW, qB, pW, pB]) =>
        attention(
          x as tf.Tensor4D,
          { normW: nW as tf.Tensor1D, normB: nB as tf.Tensor1D, qkvW: qW as tf.Tensor4D, qkvB: qB as tf.Tensor1D, projW: pW as tf.Tensor4D, projB: pB as tf.Tensor1D },
          4,
        ),
      [
        { shape: [2, 3, 3, 8], seed: 16, scale: 1.5 },
        { shape: [8], seed: 17, scale: 0.3, offset: 1 },
        { shape: [8], seed: 18, scale: 0.3 },
        { shape: [1, 1, 8, 24], seed: 19, scale: 0.6 },
        { shape: [24], seed: 20, scale: 0.3 },
        { shape: [1, 1, 8, 8], seed: 21, scale: 0.5 },
        { shape: [8], seed: 22, scale: 0.3 },
      ],
      1e-4,
    );
  });

  it('nearest x2 upsample', () => {
    expectSameGrads(([x]) => upsampleNearest2x(x as tf.Tensor4D), [{ shape: [2, 3, 2, 3], seed: 23 }]);
  });

  it('time embedding MLP (and continuous t)', () => {
    expectSameGrads(
      ([t, w0, b0, w2, b2]) => linear(silu(linear(timestepEmbedding(t as tf.Tensor1D, 8), w0 as tf.Tensor2D, b0 as tf.Tensor1D)), w2 as tf.Tensor2D, b2 as tf.Tensor1D),
      [
        { shape: [3], seed: 24, scale: 5, offset: 5 },
        { shape: [8, 16], seed: 25, scale: 0.35 },
        { shape: [16], seed: 26, scale: 0.35 },
        { shape: [16, 16], seed: 27, scale: 0.25 },
        { shape: [16], seed: 28, scale: 0.25 },
      ],
      1e-4,
    );
  });
});

const TINY: UNetConfig = { ...TINY_UNET, channelMults: [...TINY_UNET.channelMults], attentionResolutions: [...TINY_UNET.attentionResolutions] };

describe('tiny UNet on wasm', () => {
  it('forward and every parameter gradient match cpu', () => {
    const run = (backend: 'cpu' | 'wasm') => {
      tf.setBackend(backend);
      const m = new UNet(TINY, { seed: 4 });
      try {
        return tf.tidy(() => {
          const x = tf.tensor(randomData(2 * 8 * 8 * 3, 30), [2, 8, 8, 3]) as tf.Tensor4D;
          const t = tf.tensor1d([4, 600]);
          const y = m.apply(x, t);
          const { grads } = tf.variableGrads(() => tf.mean(tf.square(m.apply(x, t))) as tf.Scalar, m.variables());
          return { y: y.dataSync() as Float32Array, g: m.variables().map((v) => grads[v.name].dataSync() as Float32Array) };
        });
      } finally {
        m.dispose();
      }
    };
    const ref = run('cpu');
    const got = run('wasm');
    expect(maxRelErr(ref.y, got.y)).toBeLessThan(1e-5);
    ref.g.forEach((g, i) => expect(maxRelErr(g, got.g[i]), `parameter ${i}`).toBeLessThan(1e-3));
  });

  it('no leak across Adam steps: same tensor count and backend buffers after step 2 and step 20', () => {
    tf.setBackend('wasm');
    const m = new UNet({ ...TINY, dropout: 0.1 }, { seed: 5 });
    const opt = tf.train.adam(1e-3);
    const x = tf.tensor(randomData(2 * 8 * 8 * 3, 31), [2, 8, 8, 3]) as tf.Tensor4D;
    const t = tf.tensor1d([10, 20]);
    const counts: [number, number][] = [];
    const losses: number[] = [];
    for (let step = 1; step <= 20; step++) {
      const loss = opt.minimize(() => tf.mean(tf.square(m.apply(x, t, { training: true, dropoutSeed: step }))) as tf.Scalar, true, m.variables());
      losses.push((loss as tf.Scalar).dataSync()[0]);
      loss?.dispose();
      if (step === 2 || step === 20) counts.push([tf.memory().numTensors, tf.engine().backend.numDataIds()]);
    }
    expect(counts[1]).toEqual(counts[0]);
    expect(losses[19]).toBeLessThan(losses[0]);
    opt.dispose();
    m.dispose();
    tf.dispose([x, t]);
  });
});
