/**
 * Heun's 2nd-order method with optional churn (Karras et al. 2022 Alg. 2; k-diffusion sample_heun):
 *   gamma = min(churn / N, sqrt(2) - 1) if sTmin <= sigma_i <= sTmax else 0,  sigma_hat = sigma_i (1 + gamma)
 *   x_hat = x + sNoise sqrt(sigma_hat^2 - sigma_i^2) z                        (z = noise.step(i, 0))
 *   d = (x_hat - D(x_hat; sigma_hat)) / sigma_hat,  x' = x_hat + (sigma_{i+1} - sigma_hat) d
 *   if sigma_{i+1} > 0: d' = (x' - D(x'; sigma_{i+1})) / sigma_{i+1},  x = x_hat + (sigma_{i+1} - sigma_hat)(d + d')/2
 *   else (the step to 0) the Euler step x' (= D(x_hat; sigma_hat)).
 * N = number of steps (sigmas.length - 1).
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { denoise, levelOf, report, startSigmaSampler, throwIfAborted, type SigmaSamplerOptions } from './common';
import { defineSampler } from './descriptor';
import { S_NOISE, SIGMA_OPTIONS, STEPS } from './options';
import { sigmaSamplerPlan } from './plan';

export interface HeunOptions extends SigmaSamplerOptions {
  churn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

export async function heun(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: HeunOptions): Promise<Float32Array> {
  let { xs, sigmas } = startSigmaSampler(x, shape, opts);
  const churn = opts.churn ?? 0;
  const sTmin = opts.sTmin ?? 0;
  const sTmax = opts.sTmax ?? Infinity;
  const sNoise = opts.sNoise ?? 1;
  if (!(churn >= 0 && Number.isFinite(churn))) throw new DiffusionConfigError('churn', `churn must be a finite number >= 0, got ${churn}`);
  if (!(sNoise >= 0)) throw new DiffusionConfigError('sNoise', `sNoise must be >= 0, got ${sNoise}`);
  const total = sigmas.length - 1;
  const n = xs.length;
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const gamma = sigma >= sTmin && sigma <= sTmax ? Math.min(churn / total, Math.SQRT2 - 1) : 0;
    const sigmaHat = sigma * (1 + gamma);
    if (gamma > 0) {
      const z = opts.noise.step(i, 0);
      const c = sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
      for (let j = 0; j < n; j++) xs[j] += c * z[j];
    }
    const level = levelOf(sigmaHat, opts.sigmaToT);
    const x0 = await denoise(denoiser, xs, shape, level);
    const d = new Float64Array(n);
    for (let j = 0; j < n; j++) d[j] = (xs[j] - x0[j]) / sigmaHat;
    const dt = next - sigmaHat;
    const x2 = new Float64Array(n);
    if (next === 0) x2.set(x0);
    else for (let j = 0; j < n; j++) x2[j] = xs[j] + dt * d[j];
    if (next !== 0) {
      const x02 = await denoise(denoiser, x2, shape, levelOf(next, opts.sigmaToT));
      for (let j = 0; j < n; j++) x2[j] = xs[j] + 0.5 * dt * (d[j] + (x2[j] - x02[j]) / next);
    }
    xs = x2;
    await report(opts, { i, total, sigma: sigmaHat, t: level.t, x: xs, x0Pred: x0 });
  }
  return Float32Array.from(xs);
}

export const heunSampler = defineSampler({
  name: 'heun',
  label: 'Heun (EDM)',
  blurb: 'Second-order, two evaluations per step; crisp at 15–30 steps. Churn adds noise.',
  a1111: 'Heun',
  options: {
    steps: STEPS,
    churn: {
      type: 'number',
      default: 0,
      min: 0,
      recipe: { min: 0, max: 100 },
      label: 'Churn',
      help: 'Noise added and removed again each step (EDM S_churn): 0 is deterministic; a little can restore lost detail.',
    },
    sTmin: { type: 'number', default: 0, min: 0, label: 'Churn from noise level', help: 'Churn only at noise levels at or above this (EDM S_tmin).' },
    sTmax: { type: 'number', min: 0, defaultText: 'no upper limit', label: 'Churn up to noise level', help: 'Churn only at noise levels at or below this (EDM S_tmax).' },
    sNoise: S_NOISE,
    ...SIGMA_OPTIONS,
  },
  plan: (s, process) => sigmaSamplerPlan('heun', s, process, 'karras'),
  run: ({ denoiser, x, shape, plan, settings, common, sigmaToT }) =>
    heun(denoiser, x, shape, { ...common, sigmas: plan.sigmas as number[], sigmaToT, churn: settings.churn, sTmin: settings.sTmin, sTmax: settings.sTmax, sNoise: settings.sNoise }),
});
