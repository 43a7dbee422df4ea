/**
 * Command-line flags for the sampler options, generated from the sampler descriptors' recipe options
 * (diffusion/samplers/<name>.ts): `--eta <x>`, `--sigmas <kind>`, `--corrector-steps <n>`, … A new
 * option appears here with no edit.
 */
import { Option, type Command } from 'commander';
import type { SamplerOptions } from '../api/types';
import { SAMPLERS, recipeOptions, type SamplerDescriptor } from '../diffusion/samplers/index';

type Parser<T> = (flag: string) => (v: string) => T;

/** `correctorSteps` -> `corrector-steps` (commander turns it back into `correctorSteps`). */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Adds one flag per recipe option, its help saying what it does and which samplers take it. */
export function addSamplerOptionFlags(cmd: Command, parse: { num: Parser<number>; int: Parser<number> }): Command {
  for (const [key, o] of recipeOptions()) {
    const flag = flagName(key);
    const users = (SAMPLERS as readonly SamplerDescriptor[]).filter((s) => key in s.options).map((s) => s.name);
    const help = `${o.label}: ${o.help} (${users.join(', ')})`;
    if (o.type === 'choice') cmd.addOption(new Option(`--${flag} <kind>`, help).choices([...o.choices]));
    else cmd.addOption(new Option(`--${flag} <${o.type === 'int' ? 'n' : 'x'}>`, help).argParser((o.type === 'int' ? parse.int : parse.num)(flag)));
  }
  return cmd;
}

/** The sampler options the user gave on the command line (parsed commander options). */
export function samplerOptionsFrom(o: Record<string, unknown>): SamplerOptions {
  const out: Record<string, unknown> = {};
  for (const key of recipeOptions().keys()) if (o[key] !== undefined) out[key] = o[key];
  return out as SamplerOptions;
}
