/**
 * Euler for the probability-flow ODE in the sigma scale (Karras et al. 2022 Alg. 1 without the
 * correction; k-diffusion sample_euler without churn):
 *   d = (x - D(x; sigma_i)) / sigma_i,   x <- x + (sigma_{i+1} - sigma_i) d.
 * Input x is the sigma-scale starting state; a step to sigma = 0 returns D(x; sigma_i).
 */
import type { Denoiser, Shape } from '../types';
import { denoise, levelOf, report, startSigmaSampler, throwIfAborted, type SigmaSamplerOptions } from './common';
import { defineSampler } from './descriptor';
import { SIGMA_OPTIONS, STEPS } from './options';
import { sigmaSamplerPlan } from './plan';

export type EulerOptions = SigmaSamplerOptions;

export async function euler(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: EulerOptions): Promise<Float32Array> {
  let { xs, sigmas } = startSigmaSampler(x, shape, opts);
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const level = levelOf(sigma, opts.sigmaToT);
    const x0 = await denoise(denoiser, xs, shape, level);
    const out = new Float64Array(xs.length);
    if (next === 0) out.set(x0);
    else {
      const r = next / sigma; // x + (next - sigma) (x - x0) / sigma = r x + (1 - r) x0
      for (let j = 0; j < xs.length; j++) out[j] = r * xs[j] + (1 - r) * x0[j];
    }
    xs = out;
    await report(opts, { i, total, sigma, t: level.t, x: xs, x0Pred: x0 });
  }
  return Float32Array.from(xs);
}

export const eulerSampler = defineSampler({
  name: 'euler',
  label: 'Euler',
  blurb: 'One ODE step per evaluation in sigma space; simple, wants 30+ steps.',
  a1111: 'Euler',
  options: { steps: STEPS, ...SIGMA_OPTIONS },
  plan: (s, process) => sigmaSamplerPlan('euler', s, process, 'karras'),
  run: ({ denoiser, x, shape, plan, common, sigmaToT }) => euler(denoiser, x, shape, { ...common, sigmas: plan.sigmas as number[], sigmaToT }),
});
