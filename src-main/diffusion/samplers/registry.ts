/**
 * Every sampler, one line each. Names, settings types, validation, planning, dispatch, the request
 * schema, CLI flags, the renderer's picker and form and the A1111 labels all derive from this list.
 */
import type { OptionSpec, RecipeOf, SamplerDescriptor, SettingsOf } from './descriptor';
import { ddpmSampler } from './ddpm';
import { ddimSampler } from './ddim';
import { eulerSampler } from './euler';
import { eulerAncestralSampler } from './euler-ancestral';
import { heunSampler } from './heun';
import { dpmpp2mSampler } from './dpmpp-2m';
import { pcSampler } from './pc';
import { pfOdeSampler } from './pf-ode';
import { dpmpp2sSampler } from './dpmpp-2s';

export const SAMPLERS = [
  ddpmSampler,
  ddimSampler,
  eulerSampler,
  eulerAncestralSampler,
  heunSampler,
  dpmpp2mSampler,
  pcSampler,
  pfOdeSampler,
  dpmpp2sSampler,
] as const;

type AnySampler = (typeof SAMPLERS)[number];
export type SamplerName = AnySampler['name'];
export const SAMPLER_NAMES = SAMPLERS.map((s) => s.name) as readonly SamplerName[];

type UnionToIntersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void ? I : never;
type Flat<T> = { [K in keyof T]: T[K] };
/** Every option of every sampler, by key (a key means the same thing wherever it appears). */
export type SamplerOptionValues = Flat<UnionToIntersection<AnySampler extends infer D ? (D extends SamplerDescriptor<string, infer O> ? SettingsOf<O> : never) : never>>;
/** The user-facing options (those with recipe bounds): the contract's SamplerOptions. */
export type RecipeOptionValues = Flat<UnionToIntersection<AnySampler extends infer D ? (D extends SamplerDescriptor<string, infer O> ? RecipeOf<O> : never) : never>>;

export interface SamplerSettings extends SamplerOptionValues {
  name: SamplerName;
}

/** The descriptor of a sampler by name (undefined for an unknown name). */
export function samplerDescriptor(name: string): SamplerDescriptor | undefined {
  return (SAMPLERS as readonly SamplerDescriptor[]).find((s) => s.name === name);
}

/** Each option key once, with the first declaration met in registry order (the harness checks that the others agree). */
export function allOptions(filter: (o: OptionSpec) => boolean = () => true): Map<string, OptionSpec> {
  const out = new Map<string, OptionSpec>();
  for (const s of SAMPLERS as readonly SamplerDescriptor[]) {
    for (const [k, o] of Object.entries(s.options)) if (filter(o) && !out.has(k)) out.set(k, o);
  }
  return out;
}

/** The user-facing (recipe) options, each key once. */
export function recipeOptions(): Map<string, OptionSpec> {
  return allOptions((o) => o.recipe !== undefined);
}
