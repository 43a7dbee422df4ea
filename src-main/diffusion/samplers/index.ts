/**
 * Sampler entry points, all derived from the registry (registry.ts): validation of a settings object
 * against a process, the sequence a sampler walks (planSampler), whether it suits a process
 * (samplerFit) and one dispatch (runSampler). Each sampler is its own file with its descriptor.
 */
import type { Denoiser, SamplerCommon, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { isDiscrete, processSigmaToT, sigmaRange, type Process } from '../process';
import { domainProblem, type OptionSpec, type OptionSpecs, type SamplerDescriptor, type SamplerFit, type SettingsOf } from './descriptor';
import { SAMPLERS, SAMPLER_NAMES, samplerDescriptor, type SamplerName, type SamplerSettings } from './registry';
import { slicePlan, type SamplerPlan } from './plan';
import { ddpm } from './ddpm';
import { ddim } from './ddim';
import { euler } from './euler';
import { eulerAncestral } from './euler-ancestral';
import { heun } from './heun';
import { dpmpp2m } from './dpmpp-2m';
import { pc } from './pc';
import { pfOde } from './pf-ode';

export { SAMPLERS, SAMPLER_NAMES, samplerDescriptor, allOptions, recipeOptions } from './registry';
export type { SamplerName, SamplerSettings, SamplerOptionValues, RecipeOptionValues } from './registry';
export { defineSampler, describeDomain, domainProblem, formDefault } from './descriptor';
export type { ChoiceOption, NumberOption, OptionSpec, OptionSpecs, RunContext, SamplerDescriptor, SamplerFit } from './descriptor';
export { noisedStart, startState, type SamplerPlan } from './plan';

/** A validated settings object seen through a generic descriptor. */
type AnySettings = SettingsOf<OptionSpecs>;

function descriptorOf(name: SamplerName): SamplerDescriptor {
  return samplerDescriptor(name) as SamplerDescriptor;
}

/** Does the sampler suit this process? 'error' means validation refuses it; 'warn' runs but says why it is a poor choice. */
export function samplerFit(name: SamplerName, process: Process): SamplerFit {
  return descriptorOf(name).fit?.(process) ?? { level: 'ok' };
}

function isRequired(o: OptionSpec, process: Process): boolean {
  return typeof o.required === 'function' ? o.required(process) : o.required === true;
}

/**
 * Validate a sampler settings object (JSON) for a process. Errors name the field
 * (`${field}.steps`, ...) and say what to do.
 */
export function validateSamplerSettings(raw: unknown, process: Process, field = 'sampler'): SamplerSettings {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DiffusionConfigError(field, `${field} must be an object like {"name": "ddim", "steps": 10}`);
  const o = raw as Record<string, unknown>;
  const d = typeof o.name === 'string' ? samplerDescriptor(o.name) : undefined;
  if (!d) throw new DiffusionConfigError(`${field}.name`, `unknown sampler ${JSON.stringify(o.name)}; use one of ${SAMPLER_NAMES.join(', ')}`);
  const fit = d.fit?.(process);
  if (fit?.level === 'error') throw new DiffusionConfigError(`${field}.name`, fit.reason);
  const allowed = Object.keys(d.options);
  const out: Record<string, unknown> = { name: d.name };
  for (const key of Object.keys(o)) {
    if (key === 'name') continue;
    const spec = d.options[key];
    if (!spec) throw new DiffusionConfigError(`${field}.${key}`, `${key} is not an option of ${d.name}; its options are ${allowed.join(', ')}`);
    const problem = domainProblem(spec, o[key]);
    if (problem) throw new DiffusionConfigError(`${field}.${key}`, `${field}.${key} ${problem}, got ${JSON.stringify(o[key])}`);
    out[key] = o[key];
  }
  for (const [key, spec] of Object.entries(d.options)) {
    if (out[key] === undefined && isRequired(spec, process)) throw new DiffusionConfigError(`${field}.${key}`, `${d.name} needs "${key}" (${spec.label.toLowerCase()}: ${describeRequired(spec)})`);
  }
  const s = out as unknown as SamplerSettings;
  d.check?.(s as unknown as AnySettings, process, field);
  if ((s.spacing !== undefined || s.stepsOffset !== undefined) && !isDiscrete(process)) {
    throw new DiffusionConfigError(`${field}.spacing`, 'spacing / stepsOffset apply to discrete schedules only; continuous processes use t uniform from 1 to tMin');
  }
  const range = sigmaRange(process);
  const sMin = s.sigmaMin ?? range.sigmaMin;
  const sMax = s.sigmaMax ?? range.sigmaMax;
  if (!(sMax > sMin)) throw new DiffusionConfigError(`${field}.sigmaMax`, `sigmaMax (${sMax}) must exceed sigmaMin (${sMin})`);
  if (s.sigmas === 'uniform-in-t' && (s.sigmaMin !== undefined || s.sigmaMax !== undefined)) {
    throw new DiffusionConfigError(`${field}.sigmas`, 'uniform-in-t follows the schedule from its first to its last time; drop sigmaMin / sigmaMax or use karras / exponential');
  }
  return s;
}

function describeRequired(o: OptionSpec): string {
  if (o.type === 'choice') return `one of ${o.choices.join(', ')}`;
  return o.type === 'int' ? `an integer >= ${o.min}` : `a number ${o.minExclusive ? '>' : '>='} ${o.min}`;
}

/** The sequences a sampler will walk (pf-ode: its end points only; runSampler reports the accepted steps). */
export function planSampler(s: SamplerSettings, process: Process): SamplerPlan {
  return descriptorOf(s.name).plan(s as unknown as AnySettings, process);
}

/**
 * The plan from its `start`-th entry on (SDEdit, Meng et al. 2022: start part-way down the
 * schedule from a noised image). Samplers with adaptive steps (pf-ode) have no grid to cut.
 */
export function truncatePlan(plan: SamplerPlan, start: number): SamplerPlan {
  const d = samplerDescriptor(plan.name);
  if (d && d.truncatable === false) {
    const ok = SAMPLERS.filter((x) => (x as SamplerDescriptor).truncatable !== false).map((x) => x.name);
    throw new DiffusionConfigError('startIndex', `${plan.name} cannot start part-way; use ${ok.join(', ')} for image-to-image`);
  }
  return slicePlan(plan, start);
}

export interface SamplerRunResult {
  x: Float32Array;
  /** denoiser evaluations */
  nfe: number;
  plan: SamplerPlan;
}

/**
 * Run a sampler on a plan made by planSampler (and truncatePlan) from VALIDATED settings. `x` is
 * the starting state in plan.space (standard normal noise times plan.initStd: see startState).
 * Returns x0 in the data scale; for pf-ode the plan becomes the steps it took.
 */
export async function runPlannedSampler(denoiser: Denoiser, x: Float32Array, shape: Shape, settings: SamplerSettings, process: Process, plan: SamplerPlan, common: SamplerCommon): Promise<SamplerRunResult> {
  let nfe = 0;
  const counted: Denoiser = (xx, sh, level) => {
    nfe++;
    return denoiser(xx, sh, level);
  };
  // A copy: a sampler with adaptive steps rewrites it, and the caller's plan may serve further batches.
  const walked = { ...plan };
  const out = await descriptorOf(settings.name).run({ denoiser: counted, x, shape, settings: settings as unknown as AnySettings, process, plan: walked, common, sigmaToT: (sigma) => processSigmaToT(process, sigma) });
  return { x: out, nfe, plan: walked };
}

/**
 * Validate, plan and run a sampler (convenience for callers that have neither settings nor plan
 * yet; sampleBatch in pipeline.ts does the whole pipeline). `x` is the starting state in
 * plan.space (see startState). Returns x0 in the data scale.
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
  return runPlannedSampler(denoiser, x, shape, s, process, plan, common);
}

export { ddpm, ddim, euler, eulerAncestral, heun, dpmpp2m, pc, pfOde };
