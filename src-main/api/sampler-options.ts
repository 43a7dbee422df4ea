/**
 * The sampler options a recipe may carry, declared once as a zod schema: the request validation
 * (api/requests.ts) uses it and `SamplerOptions` (api/types.ts) is inferred from it, so the type
 * and the check cannot drift apart. Bounds and choices come from api/sampling-bounds.ts.
 *
 * One named export on purpose (`SamplerOptionsSchema`): when the samplers declare their own
 * options, this is the one place to derive it from their registry instead.
 */
import { z } from 'zod';
import { describeBound, SAMPLING_BOUNDS, SAMPLING_CHOICES, type NumberBound } from './sampling-bounds';

/** A number field with the recipe bounds, and a message naming the range. */
export function boundedNumber(name: keyof typeof SAMPLING_BOUNDS) {
  const b: NumberBound = SAMPLING_BOUNDS[name];
  const msg = `${name} must be ${describeBound(b)}`;
  const n = z.number(msg).min(b.min, msg).max(b.max, msg);
  return b.integer ? n.int(msg) : n;
}

/** Sampler settings beyond name and steps (checked again against the model's schedule by the service). */
export const SamplerOptionsSchema = z
  .object({
    eta: boundedNumber('eta'),
    spacing: z.enum(SAMPLING_CHOICES.spacing),
    sigmas: z.enum(SAMPLING_CHOICES.sigmas),
    rho: boundedNumber('rho'),
    churn: boundedNumber('churn'),
    snr: boundedNumber('snr'),
    correctorSteps: boundedNumber('correctorSteps'),
    variance: z.enum(SAMPLING_CHOICES.variance),
    rtol: boundedNumber('rtol'),
    atol: boundedNumber('atol'),
  })
  .partial()
  .strict();

export type SamplerOptions = z.infer<typeof SamplerOptionsSchema>;
