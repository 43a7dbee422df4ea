import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam } from '../../../src-main/training/optimizer';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

/** Reference Adam/AdamW in float64 (PyTorch's update rule, torch.optim.Adam/AdamW docs). */
function reference(p0: number[], grads: number[][], lr: number, wd: number): number[] {
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-8;
  const p = p0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k0) => {
    const k = k0 + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** k) + eps;
      p[i] -= (lr / (1 - b1 ** k)) * (m[i] / denom);
    }
  });
  return p;
}

describe('Adam / AdamW', () => {
  for (const wd of [0, 0.1]) {
    it(`matches the PyTorch update rule over 3 steps (weight decay ${wd})`, () => {
      const p0 = [0.5, -1.25, 2];
      const grads = [
        [0.1, -0.2, 0.3],
        [0.05, 0.4, -0.1],
        [-0.3, 0.2, 0.2],
      ];
      const v = tf.variable(tf.tensor1d(p0));
      const opt = new Adam([v], { weightDecay: wd });
      for (const g of grads) tf.tidy(() => opt.apply([tf.tensor1d(g)], 0.01));
      const got = Array.from(v.dataSync());
      const want = reference(p0, grads, 0.01, wd);
      for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(want[i], 6);
      opt.dispose();
      v.dispose();
    });
  }

  it('state round-trips and the decay mask spares masked parameters', () => {
    const a = tf.variable(tf.tensor1d([1, 1]));
    const b = tf.variable(tf.tensor1d([1, 1]));
    const opt = new Adam([a, b], { weightDecay: 0.5, decayMask: [true, false] });
    tf.tidy(() => opt.apply([tf.zeros([2]), tf.zeros([2])], 0.1));
    expect(Array.from(a.dataSync())).toEqual([0.95, 0.95].map((x) => Math.fround(x)));
    expect(Array.from(b.dataSync())).toEqual([1, 1]);
    const st = opt.state();
    const m = st.m.map((x) => x.dataSync() as Float32Array);
    const opt2 = new Adam([a, b]);
    opt2.setState(st.step, m, st.v.map((x) => x.dataSync() as Float32Array));
    expect(opt2.step).toBe(1);
    const before = tf.memory().numTensors;
    tf.tidy(() => opt2.apply([tf.ones([2]), tf.ones([2])], 0.1));
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    opt2.dispose();
    a.dispose();
    b.dispose();
  });
});
