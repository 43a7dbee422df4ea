import { describe, expect, it } from 'vitest';
import { ddim, ddimPlan } from '../../../src-main/diffusion/samplers/ddim';
import { makeDiscreteSchedule } from '../../../src-main/diffusion/schedules/index';
import { GaussianMixture } from '../../../src-main/diffusion/oracle';
import { batchNoise, consecutiveSeeds } from '../../../src-main/diffusion/rng';
import { DiffusionConfigError, type StepInfo } from '../../../src-main/diffusion/types';

const mix = new GaussianMixture({
  weights: [0.3, 0.7],
  means: [
    [-1, 0.5],
    [1, -0.5],
  ],
  stds: [
    [0.3, 0.2],
    [0.4, 0.25],
  ],
});
const sched = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
const D = 2;

/** Independent float64 DDIM (Song et al. 2021 eq. 12, eta = 0) on the exact oracle. */
function ddimRef(xT: Float32Array, ts: number[]): Float64Array {
  let x = Float64Array.from(xT);
  for (let i = 0; i < ts.length; i++) {
    const a = sched.alphasCumprod[ts[i]];
    const ap = i + 1 < ts.length ? sched.alphasCumprod[ts[i + 1]] : 1;
    const eps = mix.eps64(x, Math.sqrt((1 - a) / a), Math.sqrt(a));
    x = x.map((v, j) => {
      const x0 = (v - Math.sqrt(1 - a) * eps[j]) / Math.sqrt(a);
      return Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[j];
    });
  }
  return x;
}

describe('ddim', () => {
  it('walks diffusers timesteps and ends at alphaBar = 1', () => {
    const p = ddimPlan({ schedule: sched, steps: 5, spacing: 'trailing' });
    expect(p.timesteps).toEqual([999, 799, 599, 399, 199]);
    expect(p.alphasCumprod.length).toBe(6);
    expect(p.alphasCumprod[5]).toBe(1);
    expect(ddimPlan({ schedule: sched, steps: 5 }).timesteps).toEqual([800, 600, 400, 200, 0]);
  });

  it('matches an independent float64 implementation (eta = 0) for every spacing', async () => {
    const n = 64;
    const noise = batchNoise(consecutiveSeeds(0, n), D);
    const xT = noise.initial();
    for (const spacing of ['leading', 'linspace', 'trailing'] as const) {
      const ts = ddimPlan({ schedule: sched, steps: 10, spacing }).timesteps;
      const ours = await ddim(mix.denoiser(), xT, [n, D], { schedule: sched, steps: 10, spacing, noise });
      const ref = ddimRef(xT, ts);
      for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - ref[i])).toBeLessThan(2e-5);
    }
  });

  it('converges as steps grow and samples the mixture', async () => {
    const n = 2000;
    const noise = batchNoise(consecutiveSeeds(100, n), D);
    const xT = noise.initial();
    const fine = await ddim(mix.denoiser(), xT, [n, D], { schedule: sched, steps: 1000, spacing: 'trailing', noise });
    const errs: number[] = [];
    for (const steps of [5, 20, 100]) {
      const out = await ddim(mix.denoiser(), xT, [n, D], { schedule: sched, steps, spacing: 'trailing', noise });
      let e = 0;
      for (let i = 0; i < out.length; i++) e += (out[i] - fine[i]) ** 2;
      errs.push(Math.sqrt(e / out.length));
    }
    expect(errs[1]).toBeLessThan(errs[0] / 2);
    expect(errs[2]).toBeLessThan(errs[1] / 2);
    const { mean, variance } = mix.moments();
    for (let d = 0; d < D; d++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < n; i++) m += fine[i * D + d] / n;
      for (let i = 0; i < n; i++) v += (fine[i * D + d] - m) ** 2 / n;
      expect(Math.abs(m - mean[d])).toBeLessThan(0.06);
      expect(Math.abs(Math.sqrt(v) - Math.sqrt(variance[d]))).toBeLessThan(0.05);
    }
  });

  it('eta > 0 draws seeded noise: reproducible, and image b alone equals row b of a batch', async () => {
    const seeds = [3, 4, 5];
    const run = async (s: number[]) => {
      const noise = batchNoise(s, D);
      return ddim(mix.denoiser(), noise.initial(), [s.length, D], { schedule: sched, steps: 8, eta: 1, noise });
    };
    const a = await run(seeds);
    const b = await run(seeds);
    expect(Array.from(a)).toEqual(Array.from(b));
    const alone = await run([4]);
    expect(Array.from(alone)).toEqual(Array.from(a.slice(D, 2 * D)));
    const noise = batchNoise(seeds, D);
    const det = await ddim(mix.denoiser(), noise.initial(), [3, D], { schedule: sched, steps: 8, eta: 0, noise });
    expect(Array.from(det)).not.toEqual(Array.from(a));
  });

  it('reports every step through onStep and honours the AbortSignal', async () => {
    const noise = batchNoise([1], D);
    const infos: StepInfo[] = [];
    await ddim(mix.denoiser(), noise.initial(), [1, D], {
      schedule: sched,
      steps: 4,
      spacing: 'trailing',
      noise,
      onStep: (s) => {
        infos.push(s);
      },
    });
    expect(infos.map((s) => s.i)).toEqual([0, 1, 2, 3]);
    expect(infos.map((s) => s.t)).toEqual([999, 749, 499, 249]);
    expect(infos[0].total).toBe(4);
    expect(infos[0].sigma).toBeCloseTo(sched.sigmas[999], 10);
    expect(infos[3].x).toEqual(infos[3].x0Pred);
    const ctrl = new AbortController();
    const p = ddim(mix.denoiser(), noise.initial(), [1, D], {
      schedule: sched,
      steps: 10,
      noise,
      signal: ctrl.signal,
      onStep: (s) => {
        if (s.i === 2) ctrl.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects misuse with DiffusionConfigError', async () => {
    const noise = batchNoise([1], D);
    const x = noise.initial();
    await expect(ddim(mix.denoiser(), x, [1, D], { schedule: { kind: 've' } as never, steps: 5, noise })).rejects.toThrow(/VP-type schedule/);
    await expect(ddim(mix.denoiser(), x, [1, D], { schedule: sched, steps: 0, noise })).rejects.toThrow(DiffusionConfigError);
    await expect(ddim(mix.denoiser(), x, [1, D], { schedule: sched, steps: 5, eta: -1, noise })).rejects.toThrow(/eta/);
    await expect(ddim(mix.denoiser(), x, [1, 3], { schedule: sched, steps: 5, noise })).rejects.toThrow(/shape/);
  });
});
