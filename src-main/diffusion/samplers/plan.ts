/**
 * What a sampler walks (its plan) and the states it starts from.
 *
 * Working spaces: ddpm, ddim and pc on VP-type processes work in the VP scale (x_T ~ N(0, I));
 * the others work in the sigma scale and start from N(0, initStd^2) with initStd = sqrt(1 + sigma0^2)
 * for VP-type processes (diffusers' init_noise_sigma) and sigma0 for VE / EDM (k-diffusion).
 */
import { DiffusionConfigError } from '../types';
import type { TimestepSpacing } from '../schedules/spacing';
import { exponentialSigmas, karrasSigmas, uniformInTSigmas, type SigmaKind } from '../schedules/sigmas';
import { initNoiseStd, isDiscrete, isVpType, processSigmaToT, processTToSigma, sigmaRange, type Process } from '../process';
import { continuousVpPlan, discreteVpPlan } from './vp-plan';

export interface SamplerPlan {
  name: string;
  /** 'vp': the state is x_t in the VP scale; 've': the sigma scale x0 + sigma eps */
  space: 'vp' | 've';
  /** exact values walked, start to end including the final one (null when not defined) */
  alphasCumprod: number[] | null;
  sigmas: number[] | null;
  /** model times walked; the final clean entry is -1 for discrete schedules, 0 for continuous ones */
  t: number[] | null;
  /** std of the starting state (multiply standard-normal noise by it) */
  initStd: number;
}

/** The settings a plan reads (any sampler's, by key). */
export interface PlanSettings {
  steps?: number;
  spacing?: TimestepSpacing;
  stepsOffset?: number;
  sigmas?: SigmaKind;
  rho?: number;
  sigmaMin?: number;
  sigmaMax?: number;
}

function finalT(process: Process): number {
  return isDiscrete(process) ? -1 : 0;
}

export function timesOf(sigmas: number[], process: Process): number[] {
  return sigmas.map((s) => (s === 0 ? finalT(process) : processSigmaToT(process, s)));
}

/** ddpm / ddim: the VP timestep plan (discrete: spacing and offset; continuous: t uniform). */
export function vpSamplerPlan(name: string, s: PlanSettings, process: Process): SamplerPlan {
  const p = isDiscrete(process) ? discreteVpPlan(process, s.steps ?? process.T, s.spacing ?? 'leading', s.stepsOffset ?? 0) : continuousVpPlan(process, s.steps as number);
  return { name, space: 'vp', alphasCumprod: p.alphasCumprod, sigmas: p.alphasCumprod.map((a) => Math.sqrt((1 - a) / a)), t: p.t, initStd: 1 };
}

function sigmaSequence(s: PlanSettings, process: Process, defaultKind: SigmaKind): number[] {
  const kind = s.sigmas ?? defaultKind;
  const range = sigmaRange(process);
  const sMin = s.sigmaMin ?? range.sigmaMin;
  const sMax = s.sigmaMax ?? range.sigmaMax;
  const steps = s.steps as number;
  if (kind === 'karras') return karrasSigmas(steps, sMin, sMax, s.rho ?? 7);
  if (kind === 'exponential') return exponentialSigmas(steps, sMin, sMax);
  if (isDiscrete(process)) return uniformInTSigmas(steps, process.T - 1, 0, (t) => processTToSigma(process, t));
  return uniformInTSigmas(steps, process.tMax, process.tMin, (t) => process.sigma(t));
}

/** A plan over given sigmas, in the sigma scale unless `space` says VP. */
export function plannedSigmas(name: string, sigmas: number[], process: Process, space: 'vp' | 've' = 've'): SamplerPlan {
  return {
    name,
    space,
    alphasCumprod: isVpType(process) ? sigmas.map((x) => 1 / (1 + x * x)) : null,
    sigmas,
    t: timesOf(sigmas, process),
    initStd: space === 'vp' ? 1 : initNoiseStd(process, sigmas[0]),
  };
}

/** k-diffusion-style samplers: the sigma sequence of `sigmas` (default `defaultKind`), rho, sigmaMin, sigmaMax. */
export function sigmaSamplerPlan(name: string, s: PlanSettings, process: Process, defaultKind: SigmaKind, space: 'vp' | 've' = 've'): SamplerPlan {
  return plannedSigmas(name, sigmaSequence(s, process, defaultKind), process, space);
}

/** The plan from its `start`-th entry on (truncatePlan in index.ts checks that the sampler allows it). */
export function slicePlan(plan: SamplerPlan, start: number): SamplerPlan {
  const len = (plan.sigmas ?? plan.alphasCumprod ?? []).length;
  if (!Number.isInteger(start) || start < 0 || start >= len - 1) {
    throw new DiffusionConfigError('startIndex', `startIndex must be an integer in [0, ${len - 2}], got ${start}`);
  }
  return {
    ...plan,
    sigmas: plan.sigmas ? plan.sigmas.slice(start) : null,
    alphasCumprod: plan.alphasCumprod ? plan.alphasCumprod.slice(start) : null,
    t: plan.t ? plan.t.slice(start) : null,
  };
}

/**
 * The starting state of an image-to-image run from a clean image x0 and standard-normal noise at
 * the plan's first level: x_t = sqrt(abar) x0 + sqrt(1 - abar) eps in the VP scale (DDPM eq. 4),
 * x0 + sigma eps in the sigma scale.
 */
export function noisedStart(plan: SamplerPlan, x0: Float32Array, eps: Float32Array): Float32Array {
  const out = new Float32Array(x0.length);
  if (plan.space === 'vp') {
    const ab = (plan.alphasCumprod as number[])[0];
    const a = Math.sqrt(ab);
    const s = Math.sqrt(1 - ab);
    for (let i = 0; i < x0.length; i++) out[i] = a * x0[i] + s * eps[i];
  } else {
    const sigma = (plan.sigmas as number[])[0];
    for (let i = 0; i < x0.length; i++) out[i] = x0[i] + sigma * eps[i];
  }
  return out;
}

/** Starting state for a plan from standard-normal noise (e.g. BatchNoise.initial()). */
export function startState(plan: SamplerPlan, noise: Float32Array): Float32Array {
  if (plan.initStd === 1) return noise.slice();
  return Float32Array.from(noise, (v) => v * plan.initStd);
}
