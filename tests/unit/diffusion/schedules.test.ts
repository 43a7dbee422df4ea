import { describe, expect, it } from 'vitest';
import {
  cosineBetas,
  customAlphasCumprod,
  linearBetas,
  makeDiscreteSchedule,
  monotoneCubic,
  sigmaToT,
  tToSigma,
  timesteps,
  validateLogSnrPoints,
} from '../../../src-main/diffusion/schedules/index';
import { DiffusionConfigError } from '../../../src-main/diffusion/types';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('beta schedules (diffusers definitions)', () => {
  it('linear: endpoints and alphaBar match numpy reference values (DDPM alphaBar_999 = 4.0358e-5)', () => {
    const s = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
    expect(s.betas[0]).toBe(Math.fround(1e-4));
    expect(s.betas[999]).toBe(Math.fround(0.02));
    expect(rel(s.alphasCumprod[0], 0.9999000000025262)).toBeLessThan(1e-12);
    expect(rel(s.alphasCumprod[499], 0.07858724293812995)).toBeLessThan(1e-10);
    expect(rel(s.alphasCumprod[999], 4.035829772844594e-5)).toBeLessThan(1e-9);
  });

  it('scaled-linear, cosine and sigmoid match numpy reference values', () => {
    const sl = makeDiscreteSchedule({ kind: 'discrete', beta: 'scaled-linear', trainSteps: 1000 });
    expect(rel(sl.alphasCumprod[0], 0.999149999988731)).toBeLessThan(1e-12);
    expect(rel(sl.alphasCumprod[999], 0.004660098557852978)).toBeLessThan(1e-9);
    const c = cosineBetas(1000);
    expect(rel(c[0], 4.128422369831242e-5)).toBeLessThan(1e-7);
    expect(c[999]).toBe(Math.fround(0.999));
    const cs = makeDiscreteSchedule({ kind: 'discrete', beta: 'cosine', trainSteps: 1000 });
    expect(rel(cs.alphasCumprod[499], 0.4938435910065186)).toBeLessThan(1e-9);
    const sg = makeDiscreteSchedule({ kind: 'discrete', beta: 'sigmoid', trainSteps: 1000 });
    expect(rel(sg.betas[0], 0.00014920519606675953)).toBeLessThan(1e-7);
    expect(rel(sg.betas[500], 0.010079880245029926)).toBeLessThan(1e-7);
    expect(rel(sg.alphasCumprod[999], 3.968181975563481e-5)).toBeLessThan(1e-8);
  });

  it('cosine alphaBar follows the closed form of Nichol & Dhariwal eq. 17 where beta is not clipped', () => {
    const T = 1000;
    const s = makeDiscreteSchedule({ kind: 'discrete', beta: 'cosine', trainSteps: T });
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const i of [0, 100, 500, 900]) expect(rel(s.alphasCumprod[i], f((i + 1) / T) / f(0))).toBeLessThan(1e-5);
  });
});

describe('derived quantities', () => {
  const s = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 50, betaStart: 1e-3, betaEnd: 0.2 });
  it('sigma, log-SNR and the DDPM posterior (eq. 7) are consistent', () => {
    for (let t = 1; t < s.T; t++) {
      const ab = s.alphasCumprod[t];
      const abp = s.alphasCumprod[t - 1];
      expect(rel(s.sigmas[t] ** 2, (1 - ab) / ab)).toBeLessThan(1e-12);
      expect(Math.abs(s.logSnr[t] + 2 * Math.log(s.sigmas[t]))).toBeLessThan(1e-12);
      // Gaussian conditioning of q(x_{t-1}|x0) N(sqrt(abp) x0, 1-abp) on x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) z
      const a = s.alphas[t];
      const varPrior = 1 - abp;
      const gain = (Math.sqrt(a) * varPrior) / (a * varPrior + s.betas[t]);
      expect(rel(s.posteriorMeanCoef2[t], gain)).toBeLessThan(1e-10);
      expect(rel(s.posteriorMeanCoef1[t], Math.sqrt(abp) * (1 - gain * Math.sqrt(a)))).toBeLessThan(1e-10);
      expect(rel(s.posteriorVariance[t], varPrior * (1 - gain * Math.sqrt(a)))).toBeLessThan(1e-10);
    }
    expect(s.posteriorVariance[0]).toBe(0);
    expect(s.posteriorLogVarianceClipped[0]).toBe(Math.log(s.posteriorVariance[1]));
  });

  it('sigma <-> t interpolation are inverse and hit the grid', () => {
    expect(sigmaToT(s, s.sigmas[17])).toBeCloseTo(17, 10);
    expect(tToSigma(s, 17)).toBeCloseTo(s.sigmas[17], 12);
    for (const t of [0.3, 12.5, 48.9]) expect(sigmaToT(s, tToSigma(s, t))).toBeCloseTo(t, 10);
    expect(sigmaToT(s, 1e-9)).toBe(0);
    expect(sigmaToT(s, 1e9)).toBe(s.T - 1);
  });
});

describe('timestep spacing (diffusers DDIMScheduler.set_timesteps, steps_offset 0)', () => {
  it('reproduces the published 5-step sequences for T = 1000', () => {
    expect(timesteps(1000, 5, 'leading')).toEqual([800, 600, 400, 200, 0]);
    expect(timesteps(1000, 5, 'trailing')).toEqual([999, 799, 599, 399, 199]);
    expect(timesteps(1000, 5, 'linspace')).toEqual([999, 749, 500, 250, 0]);
    expect(timesteps(1000, 3, 'trailing')).toEqual([999, 666, 332]);
    expect(timesteps(1000, 5, 'leading', 1)).toEqual([801, 601, 401, 201, 1]);
  });
  it('rejects steps beyond T and unknown spacing', () => {
    expect(() => timesteps(10, 11)).toThrow(DiffusionConfigError);
    expect(() => timesteps(10, 0)).toThrow(/steps/);
    expect(() => timesteps(10, 2, 'middle' as never)).toThrow(DiffusionConfigError);
  });
});

describe('custom log-SNR schedules', () => {
  const pts: [number, number][] = [
    [0, 8],
    [0.3, 3],
    [0.5, 2.5],
    [1, -9],
  ];
  it('interpolates monotonically through the control points', () => {
    const f = monotoneCubic(pts);
    for (const [t, l] of pts) expect(f(t)).toBeCloseTo(l, 12);
    let prev = Infinity;
    for (let i = 0; i <= 1000; i++) {
      const v = f(i / 1000);
      expect(v).toBeLessThan(prev);
      prev = v;
    }
    const ab = customAlphasCumprod(100, pts);
    expect(ab[99]).toBeCloseTo(1 / (1 + Math.exp(9)), 12);
    const s = makeDiscreteSchedule({ kind: 'discrete', beta: 'custom', trainSteps: 100, logSnrPoints: pts });
    expect(s.logSnr[99]).toBeCloseTo(-9, 9);
  });
  it('rejects non-monotone, non-finite or badly bounded points, naming the field', () => {
    const bad = (p: unknown) => () => validateLogSnrPoints(p);
    expect(bad([[0, 1], [0.5, 2], [1, -3]])).toThrow(/decrease strictly/);
    expect(bad([[0, 1], [1, Number.NaN]])).toThrow(DiffusionConfigError);
    expect(bad([[0.1, 1], [1, -1]])).toThrow(/t = 0/);
    expect(bad([[0, 1]])).toThrow(/at least 2/);
    try {
      validateLogSnrPoints([[0, 1], [0.5, 2], [1, -3]]);
    } catch (e) {
      expect((e as DiffusionConfigError).field).toBe('logSnrPoints[1]');
    }
  });
});

describe('zero-terminal-SNR rescale (Lin et al. 2023 Alg. 1)', () => {
  it('keeps alphaBar_0, drives the terminal SNR to ~0 and stays monotone', () => {
    const base = makeDiscreteSchedule({ kind: 'discrete', beta: 'scaled-linear', trainSteps: 1000 });
    const z = makeDiscreteSchedule({ kind: 'discrete', beta: 'scaled-linear', trainSteps: 1000, zeroTerminalSnr: true });
    expect(rel(z.alphasCumprod[0], base.alphasCumprod[0])).toBeLessThan(1e-12);
    expect(z.alphasCumprod[999]).toBe(2 ** -24);
    const lin = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000, zeroTerminalSnr: true });
    expect(lin.alphasCumprod[999]).toBeLessThan(2 ** -24);
    for (let i = 1; i < 1000; i++) expect(lin.sigmas[i]).toBeGreaterThan(lin.sigmas[i - 1]);
  });
});

it('linear betas validate their range', () => {
  expect(() => linearBetas(1000, 0.02, 0.01)).toThrow(/betaEnd/);
  expect(() => linearBetas(1, 1e-4, 0.02)).toThrow(/trainSteps/);
  expect(() => makeDiscreteSchedule({ kind: 'discrete', beta: 'quadratic' as never, trainSteps: 10 })).toThrow(/beta must be one of/);
});
