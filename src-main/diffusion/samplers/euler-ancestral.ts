/**
 * Euler ancestral (k-diffusion sample_euler_ancestral): split each step of the reverse SDE into a
 * deterministic Euler move to sigma_down and fresh noise of std sigma_up (ancestralStep):
 *   d = (x - D(x; sigma_i)) / sigma_i,  x <- x + (sigma_down - sigma_i) d + sNoise sigma_up z.
 * z = noise.step(i, 0). eta = 1 gives the DDPM-like ancestral sampler, eta = 0 plain Euler.
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { ancestralStep, denoise, levelOf, report, startSigmaSampler, throwIfAborted, type SigmaSamplerOptions } from './common';
import { defineSampler } from './descriptor';
import { ETA, S_NOISE, SIGMA_OPTIONS, STEPS } from './options';
import { sigmaSamplerPlan } from './plan';

export interface EulerAncestralOptions extends SigmaSamplerOptions {
  eta?: number;
  sNoise?: number;
}

export async function eulerAncestral(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: EulerAncestralOptions): Promise<Float32Array> {
  let { xs, sigmas } = startSigmaSampler(x, shape, opts);
  const eta = opts.eta ?? 1;
  const sNoise = opts.sNoise ?? 1;
  if (!(eta >= 0)) throw new DiffusionConfigError('eta', `eta must be >= 0, got ${eta}`);
  if (!(sNoise >= 0)) throw new DiffusionConfigError('sNoise', `sNoise must be >= 0, got ${sNoise}`);
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const sigma = sigmas[i];
    const { sigmaDown, sigmaUp } = ancestralStep(sigma, sigmas[i + 1], eta);
    const level = levelOf(sigma, opts.sigmaToT);
    const x0 = await denoise(denoiser, xs, shape, level);
    const r = sigmaDown / sigma;
    const z = sigmaUp > 0 ? opts.noise.step(i, 0) : undefined;
    const out = new Float64Array(xs.length);
    for (let j = 0; j < xs.length; j++) out[j] = r * xs[j] + (1 - r) * x0[j] + (z ? sNoise * sigmaUp * z[j] : 0);
    xs = out;
    await report(opts, { i, total, sigma, t: level.t, x: xs, x0Pred: x0 });
  }
  return Float32Array.from(xs);
}

export const eulerAncestralSampler = defineSampler({
  name: 'euler-ancestral',
  label: 'Euler ancestral',
  blurb: 'Euler plus fresh noise each step: more variety, never fully settles.',
  a1111: 'Euler a',
  options: { steps: STEPS, eta: { ...ETA, default: 1 }, sNoise: S_NOISE, ...SIGMA_OPTIONS },
  plan: (s, process) => sigmaSamplerPlan('euler-ancestral', s, process, 'karras'),
  run: ({ denoiser, x, shape, plan, settings, common, sigmaToT }) =>
    eulerAncestral(denoiser, x, shape, { ...common, sigmas: plan.sigmas as number[], sigmaToT, eta: settings.eta, sNoise: settings.sNoise }),
});
