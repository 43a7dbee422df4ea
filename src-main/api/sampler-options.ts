/**
 * The zod schema of a request's sampler options, built from the sampler descriptors' recipe
 * options (diffusion/samplers/<name>.ts, through the bounds and choices in api/sampling-bounds.ts):
 * a new option or sampler needs no edit here. The request validation (api/requests.ts) uses it;
 * the `SamplerOptions` type (api/types.ts) is derived from the same descriptors.
 */
import { z } from 'zod';
import { describeBound, SAMPLING_BOUNDS, SAMPLING_CHOICES, SAMPLER_OPTION_KEYS } from './sampling-bounds';

/** A number field with its recipe bounds, and a message naming the range. */
export function boundedNumber(name: string): z.ZodNumber {
  const b = SAMPLING_BOUNDS[name];
  const msg = `${name} must be ${describeBound(b)}`;
  const n = z.number(msg).min(b.min, msg).max(b.max, msg);
  return b.integer ? n.int(msg) : n;
}

/** Every recipe option optional, nothing else allowed. */
function samplerOptionsSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const k of SAMPLER_OPTION_KEYS) {
    const choices = SAMPLING_CHOICES[k];
    shape[k] = (choices ? z.enum(choices as [string, ...string[]]) : boundedNumber(k)).optional();
  }
  return z.object(shape).strict();
}

/** Sampler settings beyond name and steps (checked again against the model's schedule by the service). */
export const SamplerOptionsSchema = samplerOptionsSchema();
