/**
 * The zod schema of a request's sampler options, built from the sampler descriptors' recipe options
 * (diffusion/samplers/<name>.ts): a new option or sampler needs no edit here.
 */
import { z } from 'zod';
import { describeBound, SAMPLING_BOUNDS, SAMPLING_CHOICES, SAMPLER_OPTION_KEYS } from '../api/sampling-bounds';

/** A number field with its recipe bounds, and a message naming the range. */
export function boundedNumber(name: string): z.ZodNumber {
  const b = SAMPLING_BOUNDS[name];
  const msg = `${name} must be ${describeBound(b)}`;
  const n = z.number(msg).min(b.min, msg).max(b.max, msg);
  return b.integer ? n.int(msg) : n;
}

/** Every recipe option optional, nothing else allowed. */
export function samplerOptionsSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const k of SAMPLER_OPTION_KEYS) {
    const choices = SAMPLING_CHOICES[k];
    shape[k] = (choices ? z.enum(choices as [string, ...string[]]) : boundedNumber(k)).optional();
  }
  return z.object(shape).strict();
}
