/** The sampling pipeline: the same numbers as validate → plan → start → run by hand, and plans are not shared state. */
import { describe, expect, it } from 'vitest';
import { GaussianMixture } from '../../../src-main/diffusion/oracle';
import { makeProcess } from '../../../src-main/diffusion/process';
import { batchNoise } from '../../../src-main/diffusion/rng';
import { prepareSampler, sampleBatch, sampleSeeds } from '../../../src-main/diffusion/pipeline';
import { planSampler, runSampler, startState, validateSamplerSettings } from '../../../src-main/diffusion/samplers/index';

const mix = new GaussianMixture({ weights: [1], means: [[0.3, -0.2]], stds: [[0.4, 0.5]] });
const process = makeProcess({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });

describe('sampleBatch', () => {
  it('gives exactly what the steps by hand give', async () => {
    const seeds = [4, 5, 6];
    const sampler = { name: 'euler-ancestral', steps: 7 };
    const noise = batchNoise(seeds, 2);
    const s = validateSamplerSettings(sampler, process);
    const byHand = await runSampler(mix.denoiser(), startState(planSampler(s, process), noise.initial()), [3, 2], s, process, { noise });
    const piped = await sampleSeeds({ denoiser: mix.denoiser(), process, sampler, seeds, shape: [3, 2] });
    expect(Array.from(piped.x)).toEqual(Array.from(byHand.x));
    expect(piped.nfe).toBe(byHand.nfe);
  });

  it('leaves the caller’s plan alone, so pf-ode can run a second batch on it', async () => {
    const { settings, plan } = prepareSampler({ name: 'pf-ode', rtol: 1e-3, atol: 1e-3 }, process);
    const before = JSON.stringify(plan);
    const first = await sampleBatch({ denoiser: mix.denoiser(), process, settings, plan, shape: [2, 2], noise: batchNoise([1, 2], 2) });
    expect(first.plan.sigmas!.length).toBeGreaterThan(3);
    expect(JSON.stringify(plan)).toBe(before);
    const second = await sampleBatch({ denoiser: mix.denoiser(), process, settings, plan, shape: [2, 2], noise: batchNoise([1, 2], 2) });
    expect(Array.from(second.x)).toEqual(Array.from(first.x));
  });
});
