import { describe, expect, it } from 'vitest';
import { GaussianMixture, validateMixture } from '../../../src-main/diffusion/oracle';
import { epsDenoiserContinuous, epsDenoiserDiscrete, scoreDenoiserContinuous, vDenoiserDiscrete, predictionTarget } from '../../../src-main/diffusion/parameterisation';
import { makeDiscreteSchedule, tToSigma } from '../../../src-main/diffusion/schedules/index';
import { subVpProcess, veProcess, vpProcess, edmProcess } from '../../../src-main/diffusion/sde/index';
import { normals } from '../../../src-main/diffusion/rng';

const mix = new GaussianMixture({
  weights: [0.25, 0.75],
  means: [
    [-1, 0.5, 0.2],
    [0.8, -0.4, 0],
  ],
  stds: [
    [0.3, 0.2, 0.5],
    [0.4, 0.3, 0.25],
  ],
});
const D = 3;
const x = Float64Array.from(normals(5, 0, 4 * D), (v) => 1.3 * v);

describe('Gaussian mixture oracle', () => {
  it('score = grad log p_sigma (finite differences) and Tweedie D = x + sigma^2 score', () => {
    for (const sigma of [0, 0.1, 1.5]) {
      const g = mix.score64(x, sigma);
      const h = 1e-6;
      for (let k = 0; k < x.length; k++) {
        const xp = x.slice();
        const xm = x.slice();
        xp[k] += h;
        xm[k] -= h;
        const i = Math.floor(k / D);
        const fd = (mix.logDensity(xp, sigma)[i] - mix.logDensity(xm, sigma)[i]) / (2 * h);
        expect(g[k]).toBeCloseTo(fd, 5);
      }
      const d = mix.denoise64(x, sigma);
      for (let k = 0; k < x.length; k++) expect(d[k]).toBeCloseTo(x[k] + sigma * sigma * g[k], 12);
    }
  });

  it('JVP of the denoiser matches finite differences', () => {
    const v = Float64Array.from(normals(6, 0, x.length));
    for (const sigma of [0.05, 0.7, 4]) {
      const jv = mix.denoiseJvp64(x, sigma, v);
      const h = 1e-6;
      const a = mix.denoise64(x.map((xi, j) => xi + h * v[j]), sigma);
      const b = mix.denoise64(x.map((xi, j) => xi - h * v[j]), sigma);
      for (let k = 0; k < x.length; k++) expect(jv[k]).toBeCloseTo((a[k] - b[k]) / (2 * h), 6);
    }
  });

  it('exact log density: closed-form entropy for K = 1 matches the Monte Carlo mean', () => {
    const g = new GaussianMixture({ weights: [1], means: [[0.5, -1]], stds: [[0.3, 2]] });
    const s = g.sample(20000, 1);
    const lp = g.logDensity(s);
    const mc = -lp.reduce((a, b) => a + b, 0) / lp.length;
    expect(Math.abs(mc - g.entropyClosedForm())).toBeLessThan(0.03);
    expect(g.entropyClosedForm()).toBeCloseTo(0.5 * 2 * (Math.log(2 * Math.PI) + 1) + Math.log(0.3) + Math.log(2), 12);
    const m = mix.moments();
    const samp = mix.sample(20000, 2);
    let mean0 = 0;
    for (let i = 0; i < 20000; i++) mean0 += samp[i * D] / 20000;
    expect(Math.abs(mean0 - m.mean[0])).toBeLessThan(0.02);
  });

  it('exact eps / v / score models become the exact denoiser through the adapters, for every process', async () => {
    const xs = Float32Array.from(x);
    const sched = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
    const epsNet = async (xt: Float32Array, _s: readonly number[], t: number) => {
      const sigma = tToSigma(sched, t);
      return Float32Array.from(mix.eps64(xt, sigma, 1 / Math.sqrt(1 + sigma * sigma)));
    };
    const vNet = async (xt: Float32Array, _s: readonly number[], t: number) => {
      const sigma = tToSigma(sched, t);
      const sc = 1 / Math.sqrt(1 + sigma * sigma);
      const xsig = Float32Array.from(xt, (v) => v / sc);
      const x0 = Float32Array.from(mix.denoise64(xsig, sigma));
      const eps = Float32Array.from(mix.eps64(xt, sigma, sc));
      return predictionTarget('v', x0, eps, sigma, sc);
    };
    for (const t of [10, 400.5, 999]) {
      const sigma = tToSigma(sched, t);
      const want = mix.denoise64(xs, sigma);
      const a = await epsDenoiserDiscrete(epsNet, sched)(xs, [4, D], { sigma });
      const b = await vDenoiserDiscrete(vNet, sched)(xs, [4, D], { sigma, t });
      for (let k = 0; k < xs.length; k++) {
        expect(a[k]).toBeCloseTo(want[k], 3 - Math.round(Math.log10(1 + sigma)));
        expect(b[k]).toBeCloseTo(want[k], 3 - Math.round(Math.log10(1 + sigma)));
      }
    }
    for (const p of [vpProcess(), subVpProcess(), veProcess(), edmProcess()]) {
      const eps = async (xt: Float32Array, _s: readonly number[], t: number) => Float32Array.from(mix.eps64(xt, p.sigma(t), p.mean(t)));
      const score = async (xt: Float32Array, _s: readonly number[], t: number) => Float32Array.from(mix.scoreXt64(xt, p.sigma(t), p.mean(t)));
      for (const t of [0.05, 0.3, 0.8].map((u) => (p.kind === 'edm' ? u * 10 : u))) {
        const sigma = p.sigma(t);
        const want = mix.denoise64(xs, sigma);
        const a = await epsDenoiserContinuous(eps, p)(xs, [4, D], { sigma });
        const b = await scoreDenoiserContinuous(score, p)(xs, [4, D], { sigma, t });
        for (let k = 0; k < xs.length; k++) {
          expect(Math.abs(a[k] - want[k])).toBeLessThan(1e-5 * (1 + sigma));
          expect(Math.abs(b[k] - want[k])).toBeLessThan(1e-5 * (1 + sigma));
        }
      }
      // log p_t(x_t) = log p_sigma(x_t / s) - D log s
      const t = p.kind === 'edm' ? 2 : 0.4;
      expect(mix.logDensityXt(x, p.sigma(t), p.mean(t))[0]).toBeCloseTo(mix.logDensity(x.map((v) => v / p.mean(t)), p.sigma(t))[0] - D * Math.log(p.mean(t)), 10);
    }
  });

  it('validates the mixture spec, naming the field', () => {
    const ok = { weights: [0.5, 0.5], means: [[0], [1]], stds: [[1], [1]] };
    expect(() => validateMixture({ ...ok, weights: [0.5, 0.6] })).toThrow(/sum to 1/);
    expect(() => validateMixture({ ...ok, stds: [[1], [-1]] })).toThrow(expect.objectContaining({ field: 'mixture.stds[1][0]' }));
    expect(() => validateMixture({ ...ok, means: [[0], [1, 2]] })).toThrow(/D = 1/);
    expect(() => validateMixture({ ...ok, means: [[0]] })).toThrow(/K = 2/);
  });
});
