/**
 * DPM-Solver++(2S) against an independent reference: for Gaussian data N(mu, s^2) the exact denoiser
 * is D(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu), and the probability-flow ODE
 * dx/dsigma = (x - D) / sigma (Karras et al. 2022 eq. 4) has the closed form
 * x(sigma) - mu = (x(sigma0) - mu) sqrt((s^2 + sigma^2) / (s^2 + sigma0^2)). The solver must reach it
 * with second-order error (x4 smaller per doubling of steps) for any r, in 2 evaluations per step.
 */
import { describe, expect, it } from 'vitest';
import { GaussianMixture } from '../../../../src-main/diffusion/oracle';
import { makeProcess } from '../../../../src-main/diffusion/process';
import { batchNoise, consecutiveSeeds } from '../../../../src-main/diffusion/rng';
import { prepareSampler, sampleBatch } from '../../../../src-main/diffusion/pipeline';

const mu = [0.4, -0.3];
const s = [0.5, 0.2];
const gauss = new GaussianMixture({ weights: [1], means: [mu], stds: [s] });
const process = makeProcess({ kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 });
const n = 16;

async function errorAt(steps: number, r?: number): Promise<{ err: number; nfe: number }> {
  const { settings, plan } = prepareSampler({ name: 'dpmpp-2s', steps, sigmas: 'exponential', ...(r === undefined ? {} : { r }) }, process);
  const res = await sampleBatch({ denoiser: gauss.denoiser(), process, settings, plan, shape: [n, 2], noise: batchNoise(consecutiveSeeds(3, n), 2) });
  const sig = plan.sigmas as number[];
  const sMax = sig[0];
  const sMin = sig[sig.length - 2];
  let e = 0;
  for (let i = 0; i < n * 2; i++) {
    const k = i % 2;
    const v = s[k] * s[k];
    const atMin = mu[k] + (res.start[i] - mu[k]) * Math.sqrt((v + sMin * sMin) / (v + sMax * sMax));
    const exact = mu[k] + (v / (v + sMin * sMin)) * (atMin - mu[k]);
    e += (res.x[i] - exact) ** 2;
  }
  return { err: Math.sqrt(e / (n * 2)), nfe: res.nfe };
}

describe('dpmpp-2s', () => {
  for (const r of [undefined, 0.3, 1]) {
    it(`converges to the exact probability-flow solution with order 2 (r = ${r ?? '0.5, the default'})`, async () => {
      const e = [];
      for (const steps of [8, 16, 32]) e.push((await errorAt(steps, r)).err);
      for (const ratio of [e[0] / e[1], e[1] / e[2]]) {
        expect(ratio).toBeGreaterThan(3.2);
        expect(ratio).toBeLessThan(5.5);
      }
      expect(e[2]).toBeLessThan(1e-2);
    });
  }

  it('makes two evaluations per step and one for the last step to sigma = 0', async () => {
    expect((await errorAt(10)).nfe).toBe(19);
  });

  it('r changes the path; r outside (0, 1] is refused naming the field', async () => {
    expect((await errorAt(8, 0.3)).err).not.toBe((await errorAt(8, 1)).err);
    expect(() => prepareSampler({ name: 'dpmpp-2s', steps: 8, r: 0 }, process)).toThrow(expect.objectContaining({ field: 'sampler.r' }));
    expect(() => prepareSampler({ name: 'dpmpp-2s', steps: 8, r: 1.5 }, process)).toThrow(expect.objectContaining({ field: 'sampler.r' }));
  });
});
