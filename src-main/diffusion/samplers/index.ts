/**
 * Sampler registry: the names used everywhere (CLI, API, gallery records), validation of a
 * settings object against a process, the exact sequence each sampler walks, and one entry point
 * `runSampler`. Every sampler is its own file; this module only dispatches.
 *
 * Working spaces: ddpm, ddim and pc on VP-type processes work in the VP scale (x_T ~ N(0, I));
 * the others work in the sigma scale and start from N(0, initStd^2) with initStd = sqrt(1 + sigma0^2)
 * for VP-type processes (diffusers' init_noise_sigma) and sigma0 for VE / EDM (k-diffusion).
 */
import type { Denoiser, SamplerCommon, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { TIMESTEP_SPACINGS, type TimestepSpacing } from '../schedules/spacing';
import { SIGMA_KINDS, exponentialSigmas, karrasSigmas, uniformInTSigmas, type SigmaKind } from '../schedules/sigmas';
import { initNoiseStd, isDiscrete, isVpType, processSigmaToT, processTToSigma, sigmaRange, type Process } from '../process';
import { continuousVpPlan, discreteVpPlan, type VpPlan } from './vp-plan';
import { ddpm, DDPM_VARIANCES, type DdpmVariance } from './ddpm';
import { ddim } from './ddim';
import { euler } from './euler';
import { eulerAncestral } from './euler-ancestral';
import { heun } from './heun';
import { dpmpp2m } from './dpmpp-2m';
import { pc } from './pc';
import { pfOde } from './pf-ode';

export const SAMPLER_NAMES = ['ddpm', 'ddim', 'euler', 'euler-ancestral', 'heun', 'dpmpp-2m', 'pc', 'pf-ode'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export interface SamplerSettings {
  name: SamplerName;
  steps?: number;
  eta?: number;
  spacing?: TimestepSpacing;
  stepsOffset?: number;
  sigmas?: SigmaKind;
  rho?: number;
  sigmaMin?: number;
  sigmaMax?: number;
  churn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
  snr?: number;
  correctorSteps?: number;
  normScope?: 'batch' | 'image';
  variance?: DdpmVariance;
  rtol?: number;
  atol?: number;
  clipSample?: number;
}

const SIGMA_OPTS = ['sigmas', 'rho', 'sigmaMin', 'sigmaMax'];
/** Options each sampler accepts (besides name). */
export const SAMPLER_OPTIONS: Record<SamplerName, readonly string[]> = {
  ddpm: ['steps', 'spacing', 'stepsOffset', 'variance'],
  ddim: ['steps', 'eta', 'spacing', 'stepsOffset', 'clipSample'],
  euler: ['steps', ...SIGMA_OPTS],
  'euler-ancestral': ['steps', 'eta', 'sNoise', ...SIGMA_OPTS],
  heun: ['steps', 'churn', 'sTmin', 'sTmax', 'sNoise', ...SIGMA_OPTS],
  'dpmpp-2m': ['steps', ...SIGMA_OPTS],
  pc: ['steps', 'snr', 'correctorSteps', 'normScope', ...SIGMA_OPTS],
  'pf-ode': ['rtol', 'atol', 'sigmaMin', 'sigmaMax'],
};

const VP_ONLY: readonly SamplerName[] = ['ddpm', 'ddim'];

/**
 * Validate a sampler settings object (JSON) for a process. Errors name the field
 * (`${field}.steps`, ...) and say what to do.
 */
export function validateSamplerSettings(raw: unknown, process: Process, field = 'sampler'): SamplerSettings {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DiffusionConfigError(field, `${field} must be an object like {"name": "ddim", "steps": 10}`);
  const o = raw as Record<string, unknown>;
  const name = o.name;
  if (typeof name !== 'string' || !SAMPLER_NAMES.includes(name as SamplerName)) {
    throw new DiffusionConfigError(`${field}.name`, `unknown sampler ${JSON.stringify(name)}; use one of ${SAMPLER_NAMES.join(', ')}`);
  }
  const nm = name as SamplerName;
  if (VP_ONLY.includes(nm) && !isVpType(process)) {
    throw new DiffusionConfigError(
      `${field}.name`,
      `${nm} needs a VP-type schedule (discrete, vp or subvp) but the schedule is ${process.kind}; use euler, heun, dpmpp-2m, pc or pf-ode instead`,
    );
  }
  const allowed = SAMPLER_OPTIONS[nm];
  const out: SamplerSettings = { name: nm };
  const numField = (key: string, check: (v: number) => boolean, hint: string) => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new DiffusionConfigError(`${field}.${key}`, `${field}.${key} ${hint}, got ${JSON.stringify(v)}`);
    return v;
  };
  for (const key of Object.keys(o)) {
    if (key === 'name') continue;
    if (!allowed.includes(key)) {
      throw new DiffusionConfigError(`${field}.${key}`, `${key} is not an option of ${nm}; its options are ${allowed.join(', ')}`);
    }
    const rec = out as unknown as Record<string, unknown>;
    switch (key) {
      case 'steps':
        rec.steps = numField(key, (v) => Number.isInteger(v) && v >= 1 && v <= 100000, 'must be an integer >= 1');
        break;
      case 'stepsOffset':
      case 'correctorSteps':
        rec[key] = numField(key, (v) => Number.isInteger(v) && v >= 0 && v < 256, 'must be an integer in [0, 255]');
        break;
      case 'spacing':
        if (!TIMESTEP_SPACINGS.includes(o.spacing as TimestepSpacing)) throw new DiffusionConfigError(`${field}.spacing`, `spacing must be one of ${TIMESTEP_SPACINGS.join(', ')}`);
        rec.spacing = o.spacing;
        break;
      case 'sigmas':
        if (!SIGMA_KINDS.includes(o.sigmas as SigmaKind)) throw new DiffusionConfigError(`${field}.sigmas`, `sigmas must be one of ${SIGMA_KINDS.join(', ')}`);
        rec.sigmas = o.sigmas;
        break;
      case 'normScope':
        if (o.normScope !== 'batch' && o.normScope !== 'image') throw new DiffusionConfigError(`${field}.normScope`, 'normScope must be "batch" or "image"');
        rec.normScope = o.normScope;
        break;
      case 'variance':
        if (!DDPM_VARIANCES.includes(o.variance as DdpmVariance)) throw new DiffusionConfigError(`${field}.variance`, `variance must be one of ${DDPM_VARIANCES.join(', ')}`);
        rec.variance = o.variance;
        break;
      case 'sTmax':
        rec.sTmax = numField(key, (v) => v >= 0, 'must be >= 0');
        break;
      case 'rho':
      case 'sigmaMin':
      case 'sigmaMax':
      case 'rtol':
      case 'atol':
      case 'clipSample':
        rec[key] = numField(key, (v) => v > 0, 'must be > 0');
        break;
      default:
        rec[key] = numField(key, (v) => v >= 0, 'must be >= 0');
    }
  }
  if (out.steps === undefined && nm !== 'pf-ode' && !(nm === 'ddpm' && isDiscrete(process))) {
    throw new DiffusionConfigError(`${field}.steps`, `${nm} needs "steps" (an integer >= 1)`);
  }
  if (isDiscrete(process) && (nm === 'ddpm' || nm === 'ddim') && (out.steps ?? process.T) > process.T) {
    throw new DiffusionConfigError(`${field}.steps`, `${nm} steps (${out.steps}) cannot exceed the schedule's ${process.T} training timesteps`);
  }
  if ((out.spacing !== undefined || out.stepsOffset !== undefined) && !isDiscrete(process)) {
    throw new DiffusionConfigError(`${field}.spacing`, 'spacing / stepsOffset apply to discrete schedules only; continuous processes use t uniform from 1 to tMin');
  }
  const range = sigmaRange(process);
  const sMin = out.sigmaMin ?? range.sigmaMin;
  const sMax = out.sigmaMax ?? range.sigmaMax;
  if (!(sMax > sMin)) throw new DiffusionConfigError(`${field}.sigmaMax`, `sigmaMax (${sMax}) must exceed sigmaMin (${sMin})`);
  if (out.sigmas === 'uniform-in-t' && (out.sigmaMin !== undefined || out.sigmaMax !== undefined)) {
    throw new DiffusionConfigError(`${field}.sigmas`, 'uniform-in-t follows the schedule from its first to its last time; drop sigmaMin / sigmaMax or use karras / exponential');
  }
  return out;
}

export interface SamplerPlan {
  name: SamplerName;
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

function sigmaSequence(s: SamplerSettings, process: Process, defaultKind: SigmaKind): number[] {
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

function vpPlanFor(s: SamplerSettings, process: Process): VpPlan {
  if (isDiscrete(process)) return discreteVpPlan(process, s.steps ?? process.T, s.spacing ?? 'leading', s.stepsOffset ?? 0);
  return continuousVpPlan(process, s.steps as number);
}

function finalT(process: Process): number {
  return isDiscrete(process) ? -1 : 0;
}

function timesOf(sigmas: number[], process: Process): number[] {
  return sigmas.map((s) => (s === 0 ? finalT(process) : processSigmaToT(process, s)));
}

/** The sequences a sampler will walk (pf-ode: its end points only; runSampler reports the accepted steps). */
export function planSampler(s: SamplerSettings, process: Process): SamplerPlan {
  const vpType = isVpType(process);
  if (s.name === 'ddpm' || s.name === 'ddim') {
    const p = vpPlanFor(s, process);
    return { name: s.name, space: 'vp', alphasCumprod: p.alphasCumprod, sigmas: p.alphasCumprod.map((a) => Math.sqrt((1 - a) / a)), t: p.t, initStd: 1 };
  }
  let sigmas: number[];
  if (s.name === 'pf-ode') {
    const range = sigmaRange(process);
    sigmas = [s.sigmaMax ?? range.sigmaMax, s.sigmaMin ?? range.sigmaMin, 0];
  } else sigmas = sigmaSequence(s, process, s.name === 'pc' ? 'uniform-in-t' : 'karras');
  const space = s.name === 'pc' && vpType ? 'vp' : 've';
  return {
    name: s.name,
    space,
    alphasCumprod: vpType ? sigmas.map((x) => 1 / (1 + x * x)) : null,
    sigmas,
    t: timesOf(sigmas, process),
    initStd: space === 'vp' ? 1 : initNoiseStd(process, sigmas[0]),
  };
}

export interface SamplerRunResult {
  x: Float32Array;
  /** denoiser evaluations */
  nfe: number;
  plan: SamplerPlan;
}

/**
 * Run a validated sampler. `x` is the starting state in plan.space (standard normal noise times
 * plan.initStd: see startState). Returns x0 in the data scale.
 */
export async function runSampler(
  denoiser: Denoiser,
  x: Float32Array,
  shape: Shape,
  settings: SamplerSettings,
  process: Process,
  common: SamplerCommon,
  opts: { startIndex?: number } = {},
): Promise<SamplerRunResult> {
  const s = validateSamplerSettings(settings, process);
  const plan = opts.startIndex ? truncatePlan(planSampler(s, process), opts.startIndex) : planSampler(s, process);
  let nfe = 0;
  const counted: Denoiser = (xx, sh, level) => {
    nfe++;
    return denoiser(xx, sh, level);
  };
  const sigmaToT = (sigma: number) => processSigmaToT(process, sigma);
  const sig = plan.sigmas as number[];
  let out: Float32Array;
  switch (s.name) {
    case 'ddpm':
      out = await ddpm(counted, x, shape, { ...common, plan: { t: plan.t as number[], alphasCumprod: plan.alphasCumprod as number[] }, variance: s.variance });
      break;
    case 'ddim':
      out = await ddim(counted, x, shape, { ...common, plan: { t: plan.t as number[], alphasCumprod: plan.alphasCumprod as number[] }, eta: s.eta, clipSample: s.clipSample });
      break;
    case 'euler':
      out = await euler(counted, x, shape, { ...common, sigmas: sig, sigmaToT });
      break;
    case 'euler-ancestral':
      out = await eulerAncestral(counted, x, shape, { ...common, sigmas: sig, sigmaToT, eta: s.eta, sNoise: s.sNoise });
      break;
    case 'heun':
      out = await heun(counted, x, shape, { ...common, sigmas: sig, sigmaToT, churn: s.churn, sTmin: s.sTmin, sTmax: s.sTmax, sNoise: s.sNoise });
      break;
    case 'dpmpp-2m':
      out = await dpmpp2m(counted, x, shape, { ...common, sigmas: sig, sigmaToT });
      break;
    case 'pc':
      out = await pc(counted, x, shape, { ...common, sigmas: sig, sigmaToT, space: plan.space, snr: s.snr, correctorSteps: s.correctorSteps, normScope: s.normScope });
      break;
    case 'pf-ode': {
      const record: { sigmas?: number[] } = {};
      out = await pfOde(counted, x, shape, { ...common, sigmaMax: sig[0], sigmaMin: sig[1], rtol: s.rtol, atol: s.atol, sigmaToT, record });
      const walked = record.sigmas as number[];
      plan.sigmas = walked;
      plan.t = timesOf(walked, process);
      plan.alphasCumprod = isVpType(process) ? walked.map((v) => 1 / (1 + v * v)) : null;
      break;
    }
  }
  return { x: out, nfe, plan };
}

/**
 * The plan from its `start`-th entry on (SDEdit, Meng et al. 2022: start part-way down the
 * schedule from a noised image). pf-ode has no fixed grid and cannot be truncated this way.
 */
export function truncatePlan(plan: SamplerPlan, start: number): SamplerPlan {
  if (plan.name === 'pf-ode') throw new DiffusionConfigError('startIndex', 'pf-ode cannot start part-way; use ddim, euler, heun or dpmpp-2m for image-to-image');
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

export { ddpm, ddim, euler, eulerAncestral, heun, dpmpp2m, pc, pfOde };
