/**
 * Predictor–corrector sampling (Song et al. 2021 Alg. 2/3 and App. G): before each predictor step,
 * `correctorSteps` Langevin corrector steps (Alg. 4/5) at the same noise level, then a reverse-
 * diffusion predictor step to the next level. Works on any process through a sigma sequence:
 *
 * space 'vp' (VP-type processes; state x = sqrt(abar) x_sigma, abar_i = 1/(1+sigma_i^2), abar_N = 1):
 *   beta_i = 1 - abar_i / abar_{i+1}, alpha_i = 1 - beta_i                      (DDPM discretisation)
 *   predictor: x_mean = (2 - sqrt(alpha_i)) x + beta_i s(x),  x = x_mean + sqrt(beta_i) z
 * space 've' (VE / EDM; state in the sigma scale, SMLD discretisation):
 *   predictor: x_mean = x + (sigma_i^2 - sigma_{i+1}^2) s(x),  x = x_mean + sqrt(sigma_i^2 - sigma_{i+1}^2) z
 * corrector (alpha = alpha_i for VP, 1 for VE; g = s(x), z fresh):
 *   eps = 2 alpha (snr ||z|| / ||g||)^2,  x_mean = x + eps g,  x = x_mean + sqrt(2 eps) z
 * The score comes from the denoiser: s_sigma(x) = (D(x; sigma) - x) / sigma^2, divided by sqrt(abar) in
 * the VP scale. The last predictor step returns x_mean (Song's denoise = True).
 * Norms: normScope 'batch' (default, Song et al.'s code) uses the batch means of the per-image
 * norms ||z_b||, ||g_b|| (one step size for the batch: an image's path depends on its batch);
 * 'image' uses each image's own norms (reproducible alone; only sensible when an image has many
 * dimensions, since ||g|| of a low-dimensional sample can be ~0 and blow the step up).
 * Noise: predictor z = noise.step(i, 0), corrector step m (1-based) z = noise.step(i, m).
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { denoise, levelOf, report, startSigmaSampler, throwIfAborted, type SigmaSamplerOptions } from './common';
import { MAX_DRAWS_PER_STEP } from '../rng';
import { defineSampler } from './descriptor';
import { SIGMA_OPTIONS, STEPS } from './options';
import { continuousPreferred } from './fit';
import { sigmaSamplerPlan } from './plan';
import { isVpType } from '../process';

export interface PcOptions extends SigmaSamplerOptions {
  space: 'vp' | 've';
  snr?: number;
  correctorSteps?: number;
  normScope?: 'batch' | 'image';
}

export async function pc(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: PcOptions): Promise<Float32Array> {
  const { xs: x0State, sigmas } = startSigmaSampler(x, shape, opts);
  let xs = x0State;
  const snr = opts.snr ?? 0.16;
  const M = opts.correctorSteps ?? 1;
  if (opts.space !== 'vp' && opts.space !== 've') throw new DiffusionConfigError('space', `space must be 'vp' or 've', got ${String(opts.space)}`);
  if (!(snr >= 0 && Number.isFinite(snr))) throw new DiffusionConfigError('snr', `snr must be a finite number >= 0, got ${snr} (Song et al. use 0.16 for VE, 0.01 for VP)`);
  if (!Number.isInteger(M) || M < 0 || M >= MAX_DRAWS_PER_STEP) throw new DiffusionConfigError('correctorSteps', `correctorSteps must be an integer in [0, ${MAX_DRAWS_PER_STEP - 1}], got ${M}`);
  if (sigmas[sigmas.length - 1] !== 0) throw new DiffusionConfigError('sigmas', 'pc needs a sigma sequence that ends at 0');
  const scope = opts.normScope ?? 'batch';
  if (scope !== 'batch' && scope !== 'image') throw new DiffusionConfigError('normScope', `normScope must be 'batch' or 'image', got ${String(scope)}`);
  const vp = opts.space === 'vp';
  const total = sigmas.length - 1;
  const n = xs.length;
  const B = shape[0];
  const per = n / B;
  const abar = (s: number) => (vp ? 1 / (1 + s * s) : 1);

  /** score of the working-space state at sigma, and the x0 estimate. */
  const scoreAt = async (state: Float64Array, sigma: number): Promise<{ g: Float64Array; x0: Float32Array }> => {
    const s = Math.sqrt(abar(sigma));
    const xsig = vp ? state.map((v) => v / s) : state;
    const x0 = await denoise(denoiser, xsig, shape, levelOf(sigma, opts.sigmaToT));
    const g = new Float64Array(n);
    const c = 1 / (sigma * sigma * s);
    for (let j = 0; j < n; j++) g[j] = (x0[j] - xsig[j]) * c;
    return { g, x0 };
  };

  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const abI = abar(sigma);
    const abNext = vp ? (next === 0 ? 1 : abar(next)) : 1;
    const beta = vp ? 1 - abI / abNext : sigma * sigma - next * next;
    const alpha = vp ? 1 - beta : 1;
    // corrector (Langevin, Song et al. Alg. 4/5)
    for (let m = 1; m <= M; m++) {
      const { g } = await scoreAt(xs, sigma);
      const z = opts.noise.step(i, m);
      const gn = new Float64Array(B);
      const zn = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        for (let j = b * per; j < (b + 1) * per; j++) {
          gn[b] += g[j] * g[j];
          zn[b] += z[j] * z[j];
        }
        gn[b] = Math.sqrt(gn[b]);
        zn[b] = Math.sqrt(zn[b]);
      }
      let gMean = 0;
      let zMean = 0;
      for (let b = 0; b < B; b++) {
        gMean += gn[b] / B;
        zMean += zn[b] / B;
      }
      for (let b = 0; b < B; b++) {
        const gb = scope === 'batch' ? gMean : gn[b];
        const zb = scope === 'batch' ? zMean : zn[b];
        const eps = gb > 0 ? 2 * alpha * ((snr * zb) / gb) ** 2 : 0;
        const sq = Math.sqrt(2 * eps);
        for (let j = b * per; j < (b + 1) * per; j++) xs[j] = xs[j] + eps * g[j] + sq * z[j];
      }
    }
    // predictor (reverse diffusion)
    const { g, x0 } = await scoreAt(xs, sigma);
    const last = i === total - 1;
    const z = last ? undefined : opts.noise.step(i, 0);
    const sd = Math.sqrt(beta);
    const cx = vp ? 2 - Math.sqrt(alpha) : 1;
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = cx * xs[j] + beta * g[j] + (z ? sd * z[j] : 0);
    xs = out;
    await report(opts, { i, total, sigma, t: opts.sigmaToT?.(sigma), x: xs, x0Pred: x0 });
  }
  return Float32Array.from(xs);
}

export const pcSampler = defineSampler({
  name: 'pc',
  label: 'Predictor–corrector',
  blurb: 'Reverse SDE plus Langevin corrections (Song 2021); slow, for SDE-trained models.',
  options: {
    steps: STEPS,
    snr: {
      type: 'number',
      default: 0.16,
      min: 0,
      recipe: { min: 0, max: 1 },
      label: 'Corrector strength (SNR)',
      help: 'Size of each Langevin correction as a signal-to-noise ratio; Song et al. use 0.16 for VE and 0.01 for VP models.',
    },
    correctorSteps: {
      type: 'int',
      default: 1,
      min: 0,
      max: MAX_DRAWS_PER_STEP - 1,
      recipe: { min: 0, max: 10 },
      label: 'Corrector steps',
      help: 'Langevin corrections at each noise level; each one costs another network evaluation.',
    },
    normScope: {
      type: 'choice',
      choices: ['batch', 'image'],
      default: 'batch',
      label: 'Corrector norms',
      help: 'batch: one step size for the whole batch (Song et al.); image: each image its own, so it reproduces alone.',
    },
    ...SIGMA_OPTIONS,
    sigmas: { ...SIGMA_OPTIONS.sigmas, default: 'uniform-in-t' },
  },
  fit: continuousPreferred('Predictor–corrector'),
  batchCoupled: 'with normScope "batch" (the default) the corrector step size comes from norms averaged over the batch',
  plan: (s, process) => sigmaSamplerPlan('pc', s, process, 'uniform-in-t', isVpType(process) ? 'vp' : 've'),
  run: ({ denoiser, x, shape, plan, settings, common, sigmaToT }) =>
    pc(denoiser, x, shape, { ...common, sigmas: plan.sigmas as number[], sigmaToT, space: plan.space, snr: settings.snr, correctorSteps: settings.correctorSteps, normScope: settings.normScope }),
});
