/**
 * DDPM ancestral sampling (Ho et al. 2020 Alg. 2 with the posterior of eq. 6–7), on any increasing
 * alphaBar plan (all T timesteps by default; fewer steps respace the chain as Nichol & Dhariwal
 * 2021 §4 do: beta_i = 1 - alphaBar_i / alphaBar_prev).
 *   x0     = D(x_t / sqrt(abar); sigma)
 *   mean   = sqrt(abar_prev) beta / (1 - abar) x0 + sqrt(1 - beta) (1 - abar_prev) / (1 - abar) x_t   (eq. 7)
 *   var    = beta-tilde = beta (1 - abar_prev) / (1 - abar)   ('beta-tilde', diffusers "fixed_small")
 *          or beta                                              ('beta', diffusers "fixed_large")
 *   x_prev = mean + sqrt(var) z  (z = noise.step(i, 0)); the last step (to abar = 1) adds no noise.
 * Input: x_T ~ N(0, I) in the VP scale; output x0.
 */
import type { Denoiser, SamplerCommon, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import type { DiscreteSchedule } from '../schedules/discrete';
import type { TimestepSpacing } from '../schedules/spacing';
import { checkCommon, denoise, report, throwIfAborted } from './common';
import { checkVpPlan, discreteVpPlan, type VpPlan } from './vp-plan';
import { defineSampler } from './descriptor';
import { SPACING, STEPS, STEPS_OFFSET } from './options';
import { stepsWithinTimesteps, vpOnly } from './fit';
import { vpSamplerPlan } from './plan';
import { isDiscrete } from '../process';

export type DdpmVariance = 'beta-tilde' | 'beta';
export const DDPM_VARIANCES: readonly DdpmVariance[] = ['beta-tilde', 'beta'];

export interface DdpmOptions extends SamplerCommon {
  schedule?: DiscreteSchedule;
  /** default: every training timestep */
  steps?: number;
  spacing?: TimestepSpacing;
  stepsOffset?: number;
  plan?: VpPlan;
  variance?: DdpmVariance;
}

export function ddpmPlan(opts: Pick<DdpmOptions, 'schedule' | 'steps' | 'spacing' | 'stepsOffset' | 'plan'>): VpPlan {
  if (opts.plan) {
    checkVpPlan(opts.plan);
    return opts.plan;
  }
  const s = opts.schedule as DiscreteSchedule;
  return discreteVpPlan(s, opts.steps ?? s?.T, opts.spacing ?? 'leading', opts.stepsOffset ?? 0);
}

export async function ddpm(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: DdpmOptions): Promise<Float32Array> {
  checkCommon(x, shape, opts);
  const variance = opts.variance ?? 'beta-tilde';
  if (!DDPM_VARIANCES.includes(variance)) throw new DiffusionConfigError('variance', `variance must be one of ${DDPM_VARIANCES.join(', ')}, got ${String(variance)}`);
  const plan = ddpmPlan(opts);
  const abs = plan.alphasCumprod;
  const total = abs.length - 1;
  const n = x.length;
  let xt = Float64Array.from(x);
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const ab = abs[i];
    const abPrev = abs[i + 1];
    const beta = 1 - ab / abPrev;
    const sigma = Math.sqrt((1 - ab) / ab);
    const sab = Math.sqrt(ab);
    const xs = new Float64Array(n);
    for (let j = 0; j < n; j++) xs[j] = xt[j] / sab;
    const x0 = await denoise(denoiser, xs, shape, { sigma, t: plan.t[i] });
    const c1 = (Math.sqrt(abPrev) * beta) / (1 - ab);
    const c2 = (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - ab);
    const last = i === total - 1;
    const v = last ? 0 : variance === 'beta' ? beta : (beta * (1 - abPrev)) / (1 - ab);
    const z = v > 0 ? opts.noise.step(i, 0) : undefined;
    const sd = Math.sqrt(v);
    const next = new Float64Array(n);
    for (let j = 0; j < n; j++) next[j] = c1 * x0[j] + c2 * xt[j] + (z ? sd * z[j] : 0);
    xt = next;
    await report(opts, { i, total, sigma, t: plan.t[i], x: xt, x0Pred: x0 });
  }
  return Float32Array.from(xt);
}

export const ddpmSampler = defineSampler({
  name: 'ddpm',
  label: 'DDPM',
  blurb: 'The original ancestral sampler; needs hundreds of steps.',
  options: {
    steps: { ...STEPS, required: (p) => !isDiscrete(p), defaultText: 'every training timestep' },
    spacing: SPACING,
    stepsOffset: STEPS_OFFSET,
    variance: {
      type: 'choice',
      choices: DDPM_VARIANCES,
      default: 'beta-tilde',
      recipe: true,
      label: 'Reverse variance',
      help: 'Noise of each reverse step: beta-tilde (the true posterior’s) is cleaner, beta a little noisier.',
    },
  },
  fit: vpOnly('ddpm'),
  check: (s, process, field) => stepsWithinTimesteps('ddpm', s.steps, process, field),
  plan: (s, process) => vpSamplerPlan('ddpm', s, process),
  run: ({ denoiser, x, shape, plan, settings, common }) =>
    ddpm(denoiser, x, shape, { ...common, plan: { t: plan.t as number[], alphasCumprod: plan.alphasCumprod as number[] }, variance: settings.variance }),
});
