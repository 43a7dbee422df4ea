/**
 * Classifier-free guidance wrapper (diffusion/guidance.ts; Ho & Salimans 2022): W = 1 is the
 * conditional network, W = 0 the unconditional one, other W one batched call of 2B rows combined
 * as u + W (c − u); through the model-family adapter and a sampler it equals guiding eps.
 */
import { describe, expect, it } from 'vitest';
import { guidedNetwork, validateGuidanceScale } from '../../../src-main/diffusion/guidance';
import type { NetworkFn } from '../../../src-main/diffusion/parameterisation';
import { familyDenoiser } from '../../../src-main/diffusion/model-family';
import { sampleSeeds } from '../../../src-main/diffusion/pipeline';
import { processOf } from '../../../src-main/diffusion/model-family';
import { normals } from '../../../src-main/diffusion/rng';

const K = 4;
/** A deterministic class-conditional "network": out = 0.3·x·(1 + label) + 0.01·t + label/10, row by row. */
function toyNetwork(calls: { B: number; labels: number[] }[]): NetworkFn {
  return async (x, shape, t, labels) => {
    const B = shape[0];
    if (!labels || labels.length !== B) throw new Error('labels required');
    calls.push({ B, labels: Array.from(labels) });
    const per = x.length / B;
    const out = new Float32Array(x.length);
    for (let b = 0; b < B; b++) for (let i = 0; i < per; i++) out[b * per + i] = 0.3 * x[b * per + i] * (1 + labels[b]) + 0.01 * t + labels[b] / 10;
    return out;
  };
}

const shape = [3, 1, 2, 2];
const x = normals(3, 0, 12);

describe('guidedNetwork', () => {
  it('W = 1 is the conditional network: one call of B rows with the class labels', async () => {
    const calls: { B: number; labels: number[] }[] = [];
    const net = toyNetwork(calls);
    const got = await guidedNetwork(net, { labels: Int32Array.from([0, 2, 1]), nullClass: K, scale: 1 })(x, shape, 10);
    const want = await toyNetwork([])(x, shape, 10, Int32Array.from([0, 2, 1]));
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(calls).toEqual([{ B: 3, labels: [0, 2, 1] }]);
  });

  it('W = 0 is the unconditional network (null class), one call', async () => {
    const calls: { B: number; labels: number[] }[] = [];
    const got = await guidedNetwork(toyNetwork(calls), { labels: 2, nullClass: K, scale: 0 })(x, shape, 10);
    const want = await toyNetwork([])(x, shape, 10, Int32Array.from([K, K, K]));
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(calls).toEqual([{ B: 3, labels: [K, K, K] }]);
  });

  it('W = 3: cond and uncond in ONE call of 2B rows, combined as u + W (c − u)', async () => {
    const calls: { B: number; labels: number[] }[] = [];
    const got = await guidedNetwork(toyNetwork(calls), { labels: 1, nullClass: K, scale: 3 })(x, shape, 10);
    expect(calls).toEqual([{ B: 6, labels: [1, 1, 1, K, K, K] }]);
    const c = await toyNetwork([])(x, shape, 10, Int32Array.from([1, 1, 1]));
    const u = await toyNetwork([])(x, shape, 10, Int32Array.from([K, K, K]));
    got.forEach((v, i) => expect(v).toBeCloseTo(u[i] + 3 * (c[i] - u[i]), 5));
  });

  it('through an eps adapter and a sampler, guiding the network output equals guiding eps', async () => {
    const schedule = { kind: 'discrete' as const, beta: 'linear' as const, trainSteps: 1000 };
    const process = processOf(schedule);
    const run = (net: NetworkFn) => sampleSeeds({ denoiser: familyDenoiser(net, schedule, 'eps', process), process, sampler: { name: 'ddim', steps: 5 }, seeds: [1, 2, 3], shape });
    const guided = await run(guidedNetwork(toyNetwork([]), { labels: 2, nullClass: K, scale: 2.5 }));
    // reference: eps = eps_u + W (eps_c − eps_u) written out per call
    const toy = toyNetwork([]);
    const ref = await run(async (xx, s, t) => {
      const c = await toy(xx, s, t, new Int32Array(s[0]).fill(2));
      const u = await toy(xx, s, t, new Int32Array(s[0]).fill(K));
      return Float32Array.from(c, (cv, i) => u[i] + 2.5 * (cv - u[i]));
    });
    guided.x.forEach((v, i) => expect(v).toBeCloseTo(ref.x[i], 5));
  });

  it('refuses a negative or non-finite scale and labels outside 0..K', async () => {
    expect(() => validateGuidanceScale(-0.5)).toThrow(/guidance must be a number ≥ 0/);
    expect(() => validateGuidanceScale(Number.NaN)).toThrow(/guidance/);
    expect(() => guidedNetwork(toyNetwork([]), { labels: 1, nullClass: K, scale: -1 })).toThrow(/≥ 0/);
    await expect(guidedNetwork(toyNetwork([]), { labels: 7, nullClass: K, scale: 2 })(x, shape, 1)).rejects.toThrow(/class index 7 outside 0\.\.4/);
  });
});
