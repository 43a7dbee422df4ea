/**
 * DDIM (Song, Meng, Ermon 2021, "Denoising Diffusion Implicit Models"), following diffusers'
 * DDIMScheduler with set_alpha_to_one = True (the final alphaBar is 1) and no sample clipping
 * unless `clipSample` is given.
 *
 * Notation (DDIM eq. 12): x_t in the VP scale, abar_t = alphaBar at timestep t, abar_prev the next
 * timestep's alphaBar (1 after the last one).
 *   1. x0  = D(x_t / sqrt(abar_t); sigma_t)                 (the denoiser works in the sigma scale)
 *   2. eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)
 *   3. std = eta sqrt((1 - abar_prev)/(1 - abar_t)) sqrt(1 - abar_t/abar_prev)        (eq. 16)
 *   4. x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - std^2) eps + std z          (eq. 12)
 * Input x is x_T ~ N(0, I) in the VP scale; the result is x0 (data scale).
 *
 * Convention: the previous timestep is the next entry of the spacing's timestep list (and
 * alphaBar 1 after the last). Where that differs from diffusers, which always steps to
 * t - T // steps (alphaBar 1 once that is negative), we follow the list:
 *   leading:  the same as diffusers (entries are exactly T // steps apart).
 *   trailing: the same when T % steps == 0. Otherwise entries are T / steps apart, rounded, so
 *             t - T // steps can miss the next entry: T = 1000, 3 steps lists 999, 666, 332;
 *             diffusers goes 999 -> 666 -> 333, then 332 -> alphaBar 1, we go 666 -> 332. Near
 *             steps = T it can even end on alphaBar[0] instead of 1 (T = 1000, 600 steps).
 *   linspace: diffusers still uses t - T // steps (a known quirk).
 * Noise: step i draws noise.step(i, 0) only when eta > 0.
 */
import type { Denoiser, SamplerCommon, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import type { DiscreteSchedule } from '../schedules/discrete';
import type { TimestepSpacing } from '../schedules/spacing';
import { checkCommon, denoise, report, throwIfAborted } from './common';
import { checkVpPlan, discreteVpPlan, type VpPlan } from './vp-plan';
import { defineSampler } from './descriptor';
import { ETA, SPACING, STEPS, STEPS_OFFSET } from './options';
import { stepsWithinTimesteps, vpOnly } from './fit';
import { vpSamplerPlan } from './plan';

export interface DdimOptions extends SamplerCommon {
  /** discrete schedule + steps (+ spacing) ... */
  schedule?: DiscreteSchedule;
  steps?: number;
  /** diffusers' DDIMScheduler default is 'leading'. */
  spacing?: TimestepSpacing;
  stepsOffset?: number;
  /** ... or an explicit alphaBar plan (continuous VP / sub-VP: continuousVpPlan) */
  plan?: VpPlan;
  /** 0 = deterministic DDIM, 1 = DDPM-like ancestral variance (eq. 16). */
  eta?: number;
  /** clip the x0 prediction to [-clipSample, clipSample] (diffusers clip_sample_range); off by default */
  clipSample?: number;
}

/** The timesteps DDIM walks and the alphaBar sequence, start to end, including the final 1 (t = -1). */
export function ddimPlan(opts: Pick<DdimOptions, 'schedule' | 'steps' | 'spacing' | 'stepsOffset' | 'plan'>): { timesteps: number[]; alphasCumprod: number[] } {
  if (opts.plan) {
    checkVpPlan(opts.plan);
    return { timesteps: opts.plan.t.slice(0, -1), alphasCumprod: opts.plan.alphasCumprod.slice() };
  }
  const p = discreteVpPlan(opts.schedule as DiscreteSchedule, opts.steps as number, opts.spacing ?? 'leading', opts.stepsOffset ?? 0);
  return { timesteps: p.t.slice(0, -1), alphasCumprod: p.alphasCumprod };
}

export async function ddim(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: DdimOptions): Promise<Float32Array> {
  checkCommon(x, shape, opts);
  const eta = opts.eta ?? 0;
  if (!(Number.isFinite(eta) && eta >= 0)) throw new DiffusionConfigError('eta', `eta must be >= 0 (0 = deterministic DDIM, 1 = DDPM-like), got ${eta}`);
  if (opts.clipSample !== undefined && !(opts.clipSample > 0)) throw new DiffusionConfigError('clipSample', `clipSample must be > 0, got ${opts.clipSample}`);
  const { timesteps: ts, alphasCumprod: abs } = ddimPlan(opts);
  const n = x.length;
  let xt = Float64Array.from(x);
  const total = ts.length;
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const t = ts[i];
    const ab = abs[i];
    const abPrev = abs[i + 1];
    const sigma = Math.sqrt((1 - ab) / ab);
    const sab = Math.sqrt(ab);
    const xs = new Float64Array(n);
    for (let j = 0; j < n; j++) xs[j] = xt[j] / sab;
    const x0 = await denoise(denoiser, xs, shape, { sigma, t });
    if (opts.clipSample !== undefined) {
      const c = opts.clipSample;
      for (let j = 0; j < n; j++) x0[j] = Math.min(c, Math.max(-c, x0[j]));
    }
    const std = eta * Math.sqrt(((1 - abPrev) / (1 - ab)) * (1 - ab / abPrev));
    const cx0 = Math.sqrt(abPrev);
    const cEps = Math.sqrt(Math.max(0, 1 - abPrev - std * std));
    const s1ab = Math.sqrt(1 - ab);
    const z = std > 0 ? opts.noise.step(i, 0) : undefined;
    const next = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const eps = (xt[j] - sab * x0[j]) / s1ab;
      next[j] = cx0 * x0[j] + cEps * eps + (z ? std * z[j] : 0);
    }
    xt = next;
    await report(opts, { i, total, sigma, t, x: xt, x0Pred: x0 });
  }
  return Float32Array.from(xt);
}

export const ddimSampler = defineSampler({
  name: 'ddim',
  label: 'DDIM',
  blurb: 'Deterministic shortcut of DDPM; solid at 20–50 steps. eta > 0 adds fresh noise.',
  a1111: 'DDIM',
  options: {
    steps: STEPS,
    eta: ETA,
    spacing: SPACING,
    stepsOffset: STEPS_OFFSET,
    clipSample: {
      type: 'number',
      min: 0,
      minExclusive: true,
      defaultText: 'no clipping',
      label: 'Clip prediction',
      help: 'Clips the predicted clean image to ± this value each step (diffusers clip_sample_range).',
    },
  },
  fit: vpOnly('ddim'),
  check: (s, process, field) => stepsWithinTimesteps('ddim', s.steps, process, field),
  plan: (s, process) => vpSamplerPlan('ddim', s, process),
  run: ({ denoiser, x, shape, plan, settings, common }) =>
    ddim(denoiser, x, shape, { ...common, plan: { t: plan.t as number[], alphasCumprod: plan.alphasCumprod as number[] }, eta: settings.eta, clipSample: settings.clipSample }),
});
