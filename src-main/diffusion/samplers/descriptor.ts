/**
 * A sampler is one descriptor: its name, the words people see (label, blurb, the A1111 label), the
 * processes it fits, its options (type, default, bounds, label, one-line help) and how it plans and
 * runs. The registry (registry.ts) is a list of descriptors; validation, planning, dispatch, the
 * request schema, the CLI flags, the renderer's form and the PNG metadata labels all derive from it.
 *
 * Pure data plus functions: no package imports (the renderer reads the same descriptors).
 */
import type { Denoiser, SamplerCommon, Shape } from '../types';
import type { Process } from '../process';
import type { SamplerPlan } from './plan';

interface OptionBase {
  /** what a person sees in a form, e.g. "Corrector steps" */
  label: string;
  /** one line: what it does and which way to turn it */
  help: string;
  /** required unless it says otherwise; a function decides per process (ddpm on a discrete schedule) */
  required?: boolean | ((process: Process) => boolean);
}

export interface NumberOption extends OptionBase {
  type: 'number' | 'int';
  /** the value the maths uses when the option is absent (undefined: see defaultText) */
  default?: number;
  /** when there is no fixed default: what is used instead, in words */
  defaultText?: string;
  /** the value the Sample form starts at when it differs from `default` (a faster starting point) */
  suggested?: number;
  /** the mathematical domain, checked by validateSamplerSettings */
  min: number;
  max?: number;
  /** min itself is not allowed (rho, tolerances) */
  minExclusive?: boolean;
  /**
   * Bounds of a user-facing recipe (API requests, PNG records, CLI flags, the Sample form). Absent:
   * an expert option of the diffusion API only (sampler bench specs).
   */
  recipe?: { min: number; max: number };
}

export interface ChoiceOption<C extends readonly string[] = readonly string[]> extends OptionBase {
  type: 'choice';
  choices: C;
  default?: C[number];
  defaultText?: string;
  suggested?: C[number];
  /** part of a user-facing recipe (see NumberOption.recipe) */
  recipe?: true;
}

export type OptionSpec = NumberOption | ChoiceOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValue<S> = S extends ChoiceOption<infer C> ? C[number] : number;
/** The settings object of one sampler: every option optional (defaults apply). */
export type SettingsOf<O extends OptionSpecs> = { -readonly [K in keyof O]?: OptionValue<O[K]> };
/** Only the user-facing (recipe) options. */
export type RecipeOf<O extends OptionSpecs> = { -readonly [K in keyof O as O[K] extends { recipe: object | true } ? K : never]?: OptionValue<O[K]> };

/** Whether a sampler suits a process: 'error' refuses it (validation says `reason`), 'warn' runs it but says why it is a poor choice. */
export type SamplerFit = { level: 'ok' } | { level: 'warn' | 'error'; reason: string };

export interface RunContext<S> {
  /** the denoiser, counting evaluations */
  denoiser: Denoiser;
  /** starting state in plan.space */
  x: Float32Array;
  shape: Shape;
  /** validated settings of this sampler */
  settings: S;
  process: Process;
  /** the plan walked; a sampler with adaptive steps (pf-ode) replaces its sequences with the walked ones */
  plan: SamplerPlan;
  common: SamplerCommon;
  /** model time of a sigma (processSigmaToT) */
  sigmaToT: (sigma: number) => number;
}

export interface SamplerDescriptor<N extends string = string, O extends OptionSpecs = OptionSpecs> {
  name: N;
  /** picker label, e.g. "DPM-Solver++ 2M" */
  label: string;
  /** one line for the picker: what it is good at */
  blurb: string;
  /** AUTOMATIC1111's label for the same sampler (PNG `parameters`); absent when A1111 has none */
  a1111?: string;
  options: O;
  /** does it suit this process? (default: ok) */
  fit?: (process: Process) => SamplerFit;
  /** checks across options and the process beyond each option's bounds; throw DiffusionConfigError(`${field}.x`, …) */
  check?: (settings: SettingsOf<O>, process: Process, field: string) => void;
  /** the sequences it walks */
  plan: (settings: SettingsOf<O>, process: Process) => SamplerPlan;
  /**
   * Why an image's result depends on the rest of its batch, when it does (absent: image b sampled
   * alone equals row b of a batch with the same seeds; the sampler harness checks it).
   */
  batchCoupled?: string;
  /** can it start part-way down its plan (image-to-image)? default true */
  truncatable?: boolean;
  run: (ctx: RunContext<SettingsOf<O>>) => Promise<Float32Array>;
}

/** Declares a sampler; `const` keeps option keys and choice lists literal so the types derive from it. */
export function defineSampler<const N extends string, const O extends OptionSpecs>(d: SamplerDescriptor<N, O>): SamplerDescriptor<N, O> {
  return d;
}

/** The default of an option for a form: `suggested`, else `default`. */
export function formDefault(o: OptionSpec): number | string | undefined {
  return o.suggested ?? o.default;
}

/** "must be an integer >= 1", "must be > 0", … for messages. */
export function describeDomain(o: NumberOption): string {
  if (o.type === 'int') return o.max === undefined ? `must be an integer >= ${o.min}` : `must be an integer in [${o.min}, ${o.max}]`;
  const lo = `${o.minExclusive ? '>' : '>='} ${o.min}`;
  return o.max === undefined ? `must be ${lo}` : `must be ${lo} and <= ${o.max}`;
}

/** Undefined when `v` is in the option's domain, else the reason (for a message). */
export function domainProblem(o: OptionSpec, v: unknown): string | undefined {
  if (o.type === 'choice') return typeof v === 'string' && o.choices.includes(v) ? undefined : `must be one of ${o.choices.join(', ')}`;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (o.type !== 'int' || Number.isInteger(v)) &&
    (o.minExclusive ? v > o.min : v >= o.min) &&
    (o.max === undefined || v <= o.max);
  return ok ? undefined : describeDomain(o);
}
