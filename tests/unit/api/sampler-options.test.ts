/** The request schema of sampler options is built from the descriptors' recipe options. */
import { describe, expect, it } from 'vitest';
import { SamplerOptionsSchema } from '../../../src-main/api/sampler-options';
import { SAMPLER_OPTION_KEYS } from '../../../src-main/api/sampling-bounds';

describe('SamplerOptionsSchema', () => {
  const schema = SamplerOptionsSchema;
  it('accepts each recipe option within its bounds, and an empty object', () => {
    expect(schema.parse({})).toEqual({});
    const ok = { eta: 1, spacing: 'trailing', sigmas: 'exponential', rho: 7, churn: 80, snr: 0.16, correctorSteps: 10, variance: 'beta', rtol: 1e-3, atol: 1e-6 };
    for (const k of Object.keys(ok)) expect(SAMPLER_OPTION_KEYS).toContain(k);
    expect(schema.parse(ok)).toEqual(ok);
  });
  it('refuses values out of the recipe bounds and unknown keys, naming them', () => {
    const msg = (v: unknown) => {
      const r = schema.safeParse(v);
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(msg({ eta: 1.5 })).toMatch(/eta: eta must be a number from 0 to 1/);
    expect(msg({ correctorSteps: 11 })).toMatch(/correctorSteps must be a whole number from 0 to 10/);
    expect(msg({ correctorSteps: 1.5 })).toMatch(/correctorSteps/);
    expect(msg({ sigmas: 'linear' })).toMatch(/sigmas/);
    expect(msg({ sNoise: 1 })).toMatch(/sNoise/);
  });
});
