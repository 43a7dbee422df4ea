/**
 * The sampler picker and options form, derived from the sampler descriptors
 * (src-main/diffusion/samplers/<name>.ts): a new sampler or option shows up here with no edit.
 */
import type { SamplerName, SamplerOptions, ScheduleJson } from '../../../src-main/api/types';
import { formDefault, recipeOptions, samplerFit, SAMPLERS, type OptionSpec, type SamplerDescriptor, type SamplerFit } from '../../../src-main/diffusion/samplers/index';
import { processOf } from '../../../src-main/diffusion/model-family';

type OptionKey = keyof SamplerOptions;
const DESCRIPTORS = SAMPLERS as readonly SamplerDescriptor[];
const RECIPE = recipeOptions();

/** One line per sampler for the picker, and which (user-facing) options it takes. */
export const SAMPLER_INFO = Object.fromEntries(
  DESCRIPTORS.map((d) => [
    d.name,
    { label: d.label, blurb: d.blurb, options: Object.keys(d.options).filter((k) => RECIPE.has(k)) as OptionKey[], steps: 'steps' in d.options },
  ]),
) as Record<SamplerName, { label: string; blurb: string; options: OptionKey[]; steps: boolean }>;

/** Picker order: the usual first choices, then every other sampler in registry order. */
const FIRST: readonly string[] = ['dpmpp-2m', 'ddim', 'euler', 'euler-ancestral', 'heun'];
export const SAMPLER_ORDER: SamplerName[] = [
  ...FIRST.filter((n) => n in SAMPLER_INFO),
  ...DESCRIPTORS.map((d) => d.name).filter((n) => !FIRST.includes(n)),
] as SamplerName[];

/** Each user-facing option's declaration (type, bounds, label, help). */
export const OPTION_SPECS = Object.fromEntries(RECIPE) as Record<OptionKey, OptionSpec>;

/** The value the form starts at for each option (the first sampler declaring it). */
export const OPTION_DEFAULTS = Object.fromEntries([...RECIPE].map(([k, o]) => [k, formDefault(o)])) as Required<SamplerOptions>;

export const OPTION_HELP = Object.fromEntries([...RECIPE].map(([k, o]) => [k, o.help])) as Record<OptionKey, string>;
export const OPTION_LABEL = Object.fromEntries([...RECIPE].map(([k, o]) => [k, o.label])) as Record<OptionKey, string>;

/** A sampler's own declaration of an option (its default can differ from another sampler's). */
export function optionSpec(sampler: SamplerName, key: OptionKey): OptionSpec {
  return DESCRIPTORS.find((d) => d.name === sampler)?.options[key] ?? OPTION_SPECS[key];
}

/** Whether a sampler suits the model's schedule; ok when the schedule is unknown or unreadable. */
export function samplerFitFor(sampler: SamplerName, schedule: ScheduleJson | null | undefined): SamplerFit {
  if (!schedule) return { level: 'ok' };
  try {
    return samplerFit(sampler, processOf(schedule));
  } catch {
    return { level: 'ok' };
  }
}
