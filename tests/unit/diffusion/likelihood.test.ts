import { describe, expect, it } from 'vitest';
import { GaussianMixture } from '../../../src-main/diffusion/oracle';
import { isVpType, makeProcess, priorStdSigmaScale, sigmaRange, type ScheduleSpec } from '../../../src-main/diffusion/process';
import { pfOdeLikelihood } from '../../../src-main/diffusion/likelihood/pf-ode';
import { vlbLikelihood, discretisedGaussianLogProb } from '../../../src-main/diffusion/likelihood/vlb';
import { pfOdeLikelihood8bit, vlbLikelihood8bit } from '../../../src-main/diffusion/likelihood/eight-bit';
import { vlbSigmas, runLikelihoodBench } from '../../../src-main/diffusion/bench/likelihood';
import { validateLikelihoodBenchSpec } from '../../../src-main/diffusion/bench/spec';
import { normalCdf } from '../../../src-main/diffusion/math';

const gauss = new GaussianMixture({ weights: [1], means: [[0.2, -0.3, 0.1, 0]], stds: [[0.5, 0.8, 0.3, 1]] });
const D = 4;
const n = 24;
const x = gauss.sample(n, 3);
const exactNll = (m: GaussianMixture, xs: ArrayLike<number>, d: number) => {
  const lp = m.logDensity(xs);
  return Array.from(lp, (v) => -v / (d * Math.LN2));
};
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const jvpOf = (m: GaussianMixture) => async (xx: Float64Array, _s: readonly number[], sigma: number, v: Float64Array) => m.denoiseJvp64(xx, sigma, v);

const specs: ScheduleSpec[] = [
  { kind: 'vp', betaMin: 0.1, betaMax: 20 },
  { kind: 'discrete', beta: 'linear', trainSteps: 1000 },
  { kind: 've', sigmaMin: 0.01, sigmaMax: 50 },
  { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 },
];

describe('PF-ODE likelihood (Hutchinson)', () => {
  for (const spec of specs) {
    it(`single Gaussian on ${spec.kind}: within 0.01 bits/dim of the closed form`, async () => {
      const p = makeProcess(spec);
      const r = await pfOdeLikelihood(gauss.denoiser(), x, [n, D], { ...sigmaRange(p), priorStd: priorStdSigmaScale(p), jvp: jvpOf(gauss) });
      expect(Math.abs(r.bitsPerDim - mean(exactNll(gauss, x, D)))).toBeLessThan(0.01);
      expect(r.nfe).toBeGreaterThan(10);
    });
  }
  it('finite-difference JVPs (no exact JVP) give the same answer; Gaussian probes are unbiased', async () => {
    const p = makeProcess({ kind: 'vp', betaMin: 0.1, betaMax: 20 });
    const base = { ...sigmaRange(p), priorStd: priorStdSigmaScale(p) };
    const fd = await pfOdeLikelihood(gauss.denoiser(), x, [n, D], base);
    expect(Math.abs(fd.bitsPerDim - mean(exactNll(gauss, x, D)))).toBeLessThan(0.01);
    const g = await pfOdeLikelihood(gauss.denoiser(), x.slice(0, 8 * D), [8, D], { ...base, probes: 'gaussian', probeCount: 64, jvp: jvpOf(gauss) });
    // per-probe std ~ sqrt(2) * 7 bits over 8*4*64 draws -> ~0.25 bits/dim
    expect(Math.abs(g.bitsPerDim - mean(exactNll(gauss, x.slice(0, 8 * D), D)))).toBeLessThan(1);
    await expect(pfOdeLikelihood(gauss.denoiser(), x, [n, D], { ...base, probes: 'cauchy' as never })).rejects.toThrow(/probes/);
  });
  it('a two-component mixture (non-diagonal Jacobian) is also recovered', async () => {
    const mix = new GaussianMixture({ weights: [0.4, 0.6], means: [[-0.6, 0.3], [0.6, -0.2]], stds: [[0.3, 0.4], [0.4, 0.3]] });
    const xs = mix.sample(32, 4);
    const p = makeProcess({ kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 });
    const r = await pfOdeLikelihood(mix.denoiser(), xs, [32, 2], { ...sigmaRange(p), priorStd: priorStdSigmaScale(p), jvp: jvpOf(mix), probeCount: 8 });
    expect(Math.abs(r.bitsPerDim - mean(exactNll(mix, xs, 2)))).toBeLessThan(0.05);
  });
});

describe('variational bound (Ho et al. eq. 5)', () => {
  const mix = new GaussianMixture({ weights: [0.4, 0.6], means: [[-0.6, 0.3], [0.6, -0.2]], stds: [[0.3, 0.4], [0.4, 0.3]] });
  const xs = mix.sample(128, 5);
  for (const spec of specs) {
    for (const variance of ['beta-tilde', 'beta'] as const) {
      it(`is never below the exact NLL: ${spec.kind}, ${variance}`, async () => {
        const p = makeProcess(spec);
        const lv = vlbSigmas(p, 400);
        const r = await vlbLikelihood(mix.denoiser(), xs, [128, 2], { sigmas: lv.sigmas, t: lv.t, priorStd: priorStdSigmaScale(p), vpType: isVpType(p), variance });
        const ex = exactNll(mix, xs, 2);
        const gaps = Array.from(r.nll, (v, i) => v / (2 * Math.LN2) - ex[i]);
        const g = mean(gaps);
        const se = Math.sqrt(gaps.reduce((s, v) => s + (v - g) ** 2, 0) / (gaps.length - 1) / gaps.length);
        // the estimate is unbiased for the bound; it must never sit significantly below the exact NLL,
        // and the loose DDPM bound (discrete, beta-tilde: ~0.7 bits/dim above) must be clearly above it
        expect(g).toBeGreaterThan(-2 * se);
        if (spec.kind === 'discrete' && variance === 'beta-tilde') expect(g).toBeGreaterThan(Math.max(0.3, 3 * se));
      });
    }
  }
  it('rejects non-increasing levels', async () => {
    await expect(vlbLikelihood(mix.denoiser(), xs, [64, 2], { sigmas: [0.1, 0.05], priorStd: 1, vpType: true })).rejects.toThrow(/strictly increasing/);
  });
});

describe('8-bit likelihoods', () => {
  const q = new GaussianMixture({ weights: [1], means: [[0.1, -0.05]], stds: [[0.2, 0.25]] });
  const xs = q.sample(32, 9);
  const bytes = Uint8Array.from(xs, (v) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))));
  // exact bits/dim of the rounded data: bins of width 2/255 centred at 2k/255 - 1
  let exact = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = (2 * bytes[i]) / 255 - 1;
    const mu = [0.1, -0.05][i % 2];
    const s = [0.2, 0.25][i % 2];
    exact -= Math.log(normalCdf((c + 1 / 255 - mu) / s) - normalCdf((c - 1 / 255 - mu) / s));
  }
  exact /= bytes.length * Math.LN2;
  it('the discretised Gaussian decoder (Ho et al. eq. 13) is a distribution over the 256 levels', () => {
    for (const [m, s] of [
      [0.3, 0.2],
      [-0.99, 0.01],
      [1.2, 0.5],
    ]) {
      let tot = 0;
      for (let k = 0; k < 256; k++) tot += Math.exp(discretisedGaussianLogProb((2 * k) / 255 - 1, m, s));
      expect(tot).toBeCloseTo(1, 10);
    }
    expect(discretisedGaussianLogProb(0.5, 0.5, 1e-4)).toBeCloseTo(0, 8);
  });
  it('dequantised PF-ODE is an upper bound close to the exact discrete NLL; the 8-bit VLB is above it', async () => {
    const p = makeProcess({ kind: 'vp', betaMin: 0.1, betaMax: 20 });
    const r = await pfOdeLikelihood8bit(q.denoiser(), bytes, [32, 2], { ...sigmaRange(p), priorStd: priorStdSigmaScale(p), jvp: jvpOf(q) });
    expect(r.bitsPerDim).toBeGreaterThan(exact - 0.003);
    expect(r.bitsPerDim).toBeLessThan(exact + 0.03);
    const lv = vlbSigmas(p, 300);
    const v = await vlbLikelihood8bit(q.denoiser(), bytes, [32, 2], { sigmas: lv.sigmas, t: lv.t, priorStd: priorStdSigmaScale(p), vpType: true, variance: 'beta' });
    expect(v.bitsPerDim).toBeGreaterThan(exact);
    await expect(pfOdeLikelihood8bit(q.denoiser(), new Uint8Array(3), [32, 2], { sigmaMin: 0.01, sigmaMax: 1, priorStd: 1 })).rejects.toThrow(/shape/);
  });
});

describe('likelihood bench', () => {
  it('reports PF-ODE, VLB and exact bits/dim (closed form for K = 1, Monte Carlo otherwise)', async () => {
    const one = await runLikelihoodBench(
      validateLikelihoodBenchSpec({ mixture: { weights: [1], means: [[0, 0.5]], stds: [[0.5, 0.3]] }, schedule: { kind: 'edm' }, n: 16, vlbSteps: 200 }),
    );
    expect(one.exactMethod).toBe('closed-form');
    expect(one.exactBitsPerDim).toBeCloseTo((0.5 * (Math.log(2 * Math.PI) + 1) * 2 + Math.log(0.5) + Math.log(0.3)) / (2 * Math.LN2), 10);
    expect(Math.abs(one.pfOdeBitsPerDim - one.exactSampleBitsPerDim)).toBeLessThan(0.01);
    expect(one.vlbBitsPerDim).toBeGreaterThan(one.exactSampleBitsPerDim);
    expect(one.nfe).toBeGreaterThan(0);
    const two = await runLikelihoodBench(
      validateLikelihoodBenchSpec({ mixture: { weights: [0.5, 0.5], means: [[0], [1]], stds: [[0.3], [0.3]] }, schedule: { kind: 'discrete', beta: 'linear', trainSteps: 200 }, n: 16 }),
    );
    expect(two.exactMethod).toBe('monte-carlo');
    expect(two.exactBitsPerDim).toBe(two.exactSampleBitsPerDim);
    expect(() => validateLikelihoodBenchSpec({ mixture: { weights: [1], means: [[0]], stds: [[1]] }, schedule: { kind: 'vp' }, probes: 'x' })).toThrow(/probes/);
  });
});
