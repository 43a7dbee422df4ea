/**
 * DPM-Solver++(2S): the single-step second-order solver with data prediction (Lu et al. 2022,
 * "DPM-Solver++", arXiv 2211.01095, Algorithm 1). In the sigma scale (alpha = 1, lambda = -log sigma)
 * with h = lambda_{i+1} - lambda_i = log(sigma_i / sigma_{i+1}) and an intermediate level s at
 * lambda_i + r h, i.e. sigma_s = sigma_i e^{-r h}:
 *   u   = (sigma_s / sigma_i) x - expm1(-r h) D(x; sigma_i)
 *   D'  = (1 - 1/(2r)) D(x; sigma_i) + 1/(2r) D(u; sigma_s)
 *   x  <- (sigma_{i+1} / sigma_i) x - expm1(-h) D'
 * r = 1/2 is the paper's midpoint choice; r = 1 evaluates at the next level (a Heun-like step).
 * Two evaluations per step; the step to sigma = 0 returns D(x; sigma_i) (one evaluation), as
 * dpmpp-2m does.
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { denoise, levelOf, report, startSigmaSampler, throwIfAborted, type SigmaSamplerOptions } from './common';
import { defineSampler } from './descriptor';
import { SIGMA_OPTIONS, STEPS } from './options';
import { sigmaSamplerPlan } from './plan';

export interface DpmPp2sOptions extends SigmaSamplerOptions {
  /** where the intermediate evaluation sits, as a share of the step in log-SNR, in (0, 1] (default 0.5) */
  r?: number;
}

export async function dpmpp2s(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: DpmPp2sOptions): Promise<Float32Array> {
  let { xs, sigmas } = startSigmaSampler(x, shape, opts);
  const r = opts.r ?? 0.5;
  if (!(r > 0 && r <= 1)) throw new DiffusionConfigError('r', `r must be in (0, 1], got ${r}`);
  const total = sigmas.length - 1;
  const n = xs.length;
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const level = levelOf(sigma, opts.sigmaToT);
    const d0 = await denoise(denoiser, xs, shape, level);
    const out = new Float64Array(n);
    if (next === 0) out.set(d0);
    else {
      const h = Math.log(sigma) - Math.log(next);
      const sigmaS = sigma * Math.exp(-r * h);
      const cs = -Math.expm1(-r * h);
      const u = new Float64Array(n);
      for (let j = 0; j < n; j++) u[j] = (sigmaS / sigma) * xs[j] + cs * d0[j];
      throwIfAborted(opts.signal);
      const d1 = await denoise(denoiser, u, shape, levelOf(sigmaS, opts.sigmaToT));
      const w = 1 / (2 * r);
      const ratio = next / sigma;
      const c = -Math.expm1(-h);
      for (let j = 0; j < n; j++) out[j] = ratio * xs[j] + c * ((1 - w) * d0[j] + w * d1[j]);
    }
    xs = out;
    await report(opts, { i, total, sigma, t: level.t, x: xs, x0Pred: d0 });
  }
  return Float32Array.from(xs);
}

export const dpmpp2sSampler = defineSampler({
  name: 'dpmpp-2s',
  label: 'DPM-Solver++ 2S',
  blurb: 'Second-order single-step solver: two evaluations per step, no memory of earlier steps; good at 10–20 steps.',
  options: {
    steps: STEPS,
    r: {
      type: 'number',
      default: 0.5,
      min: 0,
      minExclusive: true,
      max: 1,
      recipe: { min: 0.1, max: 1 },
      label: 'Midpoint ratio (r)',
      help: 'Where the second evaluation sits within each step, in log-SNR: 0.5 is the midpoint (the paper’s choice); 1 looks at the next level, like Heun.',
    },
    ...SIGMA_OPTIONS,
  },
  plan: (s, process) => sigmaSamplerPlan('dpmpp-2s', s, process, 'karras'),
  run: ({ denoiser, x, shape, plan, settings, common, sigmaToT }) => dpmpp2s(denoiser, x, shape, { ...common, sigmas: plan.sigmas as number[], sigmaToT, r: settings.r }),
});
