import { describe, expect, it } from 'vitest';
import { GaussianMixture } from '../../../src-main/diffusion/oracle';
import { makeProcess, type ScheduleSpec } from '../../../src-main/diffusion/process';
import { batchNoise, consecutiveSeeds } from '../../../src-main/diffusion/rng';
import { planSampler, runSampler, startState, validateSamplerSettings, SAMPLER_NAMES, type SamplerSettings } from '../../../src-main/diffusion/samplers/index';
import { euler } from '../../../src-main/diffusion/samplers/euler';
import { heun } from '../../../src-main/diffusion/samplers/heun';
import { dpmpp2m } from '../../../src-main/diffusion/samplers/dpmpp-2m';
import { eulerAncestral } from '../../../src-main/diffusion/samplers/euler-ancestral';
import { pfOde } from '../../../src-main/diffusion/samplers/pf-ode';
import { ddpm } from '../../../src-main/diffusion/samplers/ddpm';
import { makeDiscreteSchedule } from '../../../src-main/diffusion/schedules/index';
import { sampleMoments, rmsDiff } from '../../../src-main/diffusion/bench/metrics';
import { DiffusionConfigError, type StepInfo } from '../../../src-main/diffusion/types';

const smooth = new GaussianMixture({
  weights: [0.4, 0.6],
  means: [
    [-0.5, 0.3],
    [0.5, -0.2],
  ],
  stds: [
    [0.5, 0.4],
    [0.6, 0.5],
  ],
});
const D = 2;

function rms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  return Math.sqrt(e / a.length);
}

async function run(mix: GaussianMixture, spec: ScheduleSpec, s: SamplerSettings, n: number, seed = 0) {
  const p = makeProcess(spec);
  const noise = batchNoise(consecutiveSeeds(seed, n), mix.D);
  const plan = planSampler(validateSamplerSettings(s, p), p);
  return runSampler(mix.denoiser(), startState(plan, noise.initial()), [n, mix.D], s, p, { noise });
}

describe('ODE samplers converge to the exact probability-flow solution with their order', () => {
  const n = 32;
  for (const spec of [{ kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 }, { kind: 'discrete', beta: 'linear', trainSteps: 1000 }] as ScheduleSpec[]) {
    it(`${spec.kind}: euler ~2x, heun ~4x, dpmpp-2m ~4x per doubling (exponential sigmas)`, async () => {
      const ref = await run(smooth, spec, { name: 'pf-ode', rtol: 1e-10, atol: 1e-10 }, n);
      const orders: Record<string, number[]> = {};
      for (const name of ['euler', 'heun', 'dpmpp-2m'] as const) {
        const errs: number[] = [];
        for (const steps of [16, 32, 64]) errs.push(rms((await run(smooth, spec, { name, steps, sigmas: 'exponential' }, n)).x, ref.x));
        orders[name] = [errs[0] / errs[1], errs[1] / errs[2]];
      }
      for (const r of orders.euler) expect(r).toBeGreaterThan(1.8), expect(r).toBeLessThan(2.3);
      for (const r of orders.heun) expect(r).toBeGreaterThan(3.6), expect(r).toBeLessThan(5.2);
      for (const r of orders['dpmpp-2m']) expect(r).toBeGreaterThan(3.3), expect(r).toBeLessThan(5);
      // pf-ode itself converges as the tolerance tightens
      const loose = await run(smooth, spec, { name: 'pf-ode', rtol: 1e-3, atol: 1e-3 }, n);
      const tight = await run(smooth, spec, { name: 'pf-ode', rtol: 1e-6, atol: 1e-6 }, n);
      expect(rms(tight.x, ref.x)).toBeLessThan(rms(loose.x, ref.x) / 10);
      expect(tight.nfe).toBeGreaterThan(loose.nfe);
    });
  }
});

describe('every sampler samples the mixture at generous step counts', () => {
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
  const truth = mix.moments();
  const trueStd = truth.variance.map(Math.sqrt);
  const n = 1500;
  const cases: [ScheduleSpec, SamplerSettings, SamplerSettings][] = [
    [{ kind: 'discrete', beta: 'linear', trainSteps: 1000 }, { name: 'ddpm', steps: 5 }, { name: 'ddpm', steps: 250 }],
    [{ kind: 'discrete', beta: 'cosine', trainSteps: 1000 }, { name: 'ddpm', steps: 5, variance: 'beta' }, { name: 'ddpm', steps: 250, variance: 'beta' }],
    [{ kind: 'vp', betaMin: 0.1, betaMax: 20 }, { name: 'ddim', steps: 3, eta: 1 }, { name: 'ddim', steps: 200, eta: 1 }],
    [{ kind: 'discrete', beta: 'linear', trainSteps: 1000 }, { name: 'euler', steps: 3 }, { name: 'euler', steps: 100 }],
    [{ kind: 'subvp', betaMin: 0.1, betaMax: 20 }, { name: 'euler-ancestral', steps: 3 }, { name: 'euler-ancestral', steps: 200 }],
    [{ kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 }, { name: 'heun', steps: 3, churn: 5 }, { name: 'heun', steps: 60, churn: 5 }],
    [{ kind: 've', sigmaMin: 0.01, sigmaMax: 50 }, { name: 'dpmpp-2m', steps: 3 }, { name: 'dpmpp-2m', steps: 40 }],
    [{ kind: 've', sigmaMin: 0.01, sigmaMax: 50 }, { name: 'pc', steps: 20, snr: 0.16 }, { name: 'pc', steps: 300, snr: 0.16 }],
    [{ kind: 'vp', betaMin: 0.1, betaMax: 20 }, { name: 'pc', steps: 3, snr: 0.16 }, { name: 'pc', steps: 300, snr: 0.16 }],
    [{ kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 }, { name: 'pf-ode', rtol: 0.5, atol: 0.5 }, { name: 'pf-ode', rtol: 1e-5, atol: 1e-5 }],
  ];
  for (const [spec, coarse, fine] of cases) {
    it(`${fine.name} on ${spec.kind}`, async () => {
      const err = async (s: SamplerSettings) => {
        const r = await run(mix, spec, s, n, 11);
        const m = sampleMoments(r.x, D);
        return { mean: rmsDiff(m.mean, truth.mean), std: rmsDiff(m.std, trueStd) };
      };
      const c = await err(coarse);
      const f = await err(fine);
      expect(f.mean).toBeLessThan(0.04);
      expect(f.std).toBeLessThan(0.03);
      expect(f.mean + f.std).toBeLessThan(c.mean + c.std);
    });
  }
});

describe('sampler conventions', () => {
  const mix = smooth;
  const x = batchNoise([1, 2], D).initial().map((v) => v * 10);
  const noise = batchNoise([1, 2], D);
  it('the step to sigma = 0 returns the denoised value (euler, heun, dpmpp-2m)', async () => {
    const sig = [10, 1, 0.2, 0];
    const calls: number[] = [];
    const den = async (xx: Float32Array, s: readonly number[], l: { sigma: number }) => {
      calls.push(l.sigma);
      return mix.denoiser()(xx, s, l);
    };
    for (const f of [euler, heun, dpmpp2m]) {
      const infos: StepInfo[] = [];
      calls.length = 0;
      const out = await f(den, x, [2, D], { sigmas: sig, noise, onStep: (s) => void infos.push(s) });
      expect(Array.from(out)).toEqual(Array.from(infos[2].x0Pred));
      expect(calls[calls.length - 1]).toBe(0.2);
    }
    expect(calls.length).toBe(3);
    // heun: 2 evaluations per step except the last
    calls.length = 0;
    await heun(den, x, [2, D], { sigmas: sig, noise });
    expect(calls).toEqual([10, 1, 1, 0.2, 0.2]);
  });

  it('dpmpp-2m first step is first order (equals DPM-Solver++ 1S = DDIM in sigma space)', async () => {
    const sig = [10, 2, 0];
    const a = await dpmpp2m(mix.denoiser(), x, [2, D], { sigmas: sig, noise });
    const d0 = mix.denoise64(x, 10);
    const x1 = Float64Array.from(x, (v, j) => (2 / 10) * v + (1 - 2 / 10) * d0[j]);
    const want = mix.denoise64(x1, 2);
    for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(want[j], 5);
  });

  it('euler-ancestral with eta = 0 is euler; stochastic samplers reproduce per image', async () => {
    const sig = [10, 3, 1, 0.3, 0];
    const e = await euler(mix.denoiser(), x, [2, D], { sigmas: sig, noise });
    const a0 = await eulerAncestral(mix.denoiser(), x, [2, D], { sigmas: sig, noise, eta: 0 });
    expect(Array.from(a0)).toEqual(Array.from(e));
    const both = await eulerAncestral(mix.denoiser(), x, [2, D], { sigmas: sig, noise });
    const alone = await eulerAncestral(mix.denoiser(), x.slice(D), [1, D], { sigmas: sig, noise: batchNoise([2], D) });
    expect(Array.from(alone)).toEqual(Array.from(both.slice(D)));
    const sched = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 100 });
    const b1 = await ddpm(mix.denoiser(), noise.initial(), [2, D], { schedule: sched, noise });
    const b2 = await ddpm(mix.denoiser(), noise.initial().slice(0, D), [1, D], { schedule: sched, noise: batchNoise([1], D) });
    expect(Array.from(b2)).toEqual(Array.from(b1.slice(0, D)));
  });

  it('pf-ode reports its accepted sigmas and NFE; every sampler honours the AbortSignal', async () => {
    const record: { sigmas?: number[]; nfe?: number } = {};
    await pfOde(mix.denoiser(), x, [2, D], { sigmaMax: 10, sigmaMin: 0.01, noise, record });
    expect(record.sigmas![0]).toBe(10);
    expect(record.sigmas!.at(-2)).toBe(0.01);
    expect(record.sigmas!.at(-1)).toBe(0);
    expect(record.nfe).toBeGreaterThan(6);
    const p = makeProcess({ kind: 'discrete', beta: 'linear', trainSteps: 100 });
    for (const name of SAMPLER_NAMES) {
      const ctrl = new AbortController();
      ctrl.abort();
      const s: SamplerSettings = name === 'pf-ode' ? { name } : { name, steps: 4 };
      await expect(runSampler(mix.denoiser(), x, [2, D], s, p, { noise, signal: ctrl.signal })).rejects.toMatchObject({ name: 'AbortError' });
    }
  });

  it('plans report the exact sequences walked, including the final clean entry', () => {
    const d = makeProcess({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
    const ddimPlan = planSampler({ name: 'ddim', steps: 5, spacing: 'trailing' }, d);
    expect(ddimPlan.t).toEqual([999, 799, 599, 399, 199, -1]);
    expect(ddimPlan.alphasCumprod!.at(-1)).toBe(1);
    expect(ddimPlan.sigmas!.at(-1)).toBe(0);
    expect(ddimPlan.space).toBe('vp');
    const e = planSampler({ name: 'euler', steps: 4 }, d);
    expect(e.space).toBe('ve');
    expect(e.sigmas!.length).toBe(5);
    expect(e.t!.at(-1)).toBe(-1);
    expect(e.t![0]).toBeCloseTo(999, 6);
    expect(e.initStd).toBeCloseTo(Math.sqrt(1 + e.sigmas![0] ** 2), 12);
    const ve = makeProcess({ kind: 've', sigmaMin: 0.01, sigmaMax: 50 });
    const pcv = planSampler({ name: 'pc', steps: 3 }, ve);
    expect(pcv.alphasCumprod).toBeNull();
    expect(pcv.initStd).toBeCloseTo(50, 10);
    [1, 0.500005, 1e-5, 0].forEach((v, i) => expect(pcv.t![i]).toBeCloseTo(v, 12));
    const want = [50, 0.01 * 5000 ** 0.500005, 0.01 * 5000 ** 1e-5, 0];
    pcv.sigmas!.forEach((v, i) => expect(v).toBeCloseTo(want[i], 10));
  });

  it('rejects bad settings with a field and a fix', () => {
    const ve = makeProcess({ kind: 've', sigmaMin: 0.01, sigmaMax: 50 });
    const d = makeProcess({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
    const bad = (s: unknown, p = d, field = 'samplers[0]') => () => validateSamplerSettings(s, p, field);
    expect(bad({ name: 'ddim', steps: 10 }, ve)).toThrow(expect.objectContaining({ field: 'samplers[0].name', message: expect.stringMatching(/VP-type.*euler/) }));
    expect(bad({ name: 'ddpm', steps: 10 }, ve)).toThrow(DiffusionConfigError);
    expect(bad({ name: 'plms', steps: 10 })).toThrow(expect.objectContaining({ field: 'samplers[0].name' }));
    expect(bad({ name: 'euler', steps: 0 })).toThrow(expect.objectContaining({ field: 'samplers[0].steps' }));
    expect(bad({ name: 'euler' })).toThrow(/needs "steps"/);
    expect(bad({ name: 'euler', steps: 2, eta: 1 })).toThrow(/not an option of euler/);
    expect(bad({ name: 'heun', steps: 2, churn: -1 })).toThrow(expect.objectContaining({ field: 'samplers[0].churn' }));
    expect(bad({ name: 'ddim', steps: 2000 })).toThrow(/cannot exceed/);
    expect(bad({ name: 'dpmpp-2m', steps: 5, sigmas: 'linear' })).toThrow(/karras/);
    expect(bad({ name: 'pf-ode', rtol: 0 })).toThrow(/rtol/);
    expect(validateSamplerSettings({ name: 'ddpm' }, d)).toEqual({ name: 'ddpm' });
  });
});
