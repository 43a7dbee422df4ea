/**
 * The Sample page's sampler table (src-renderer/src/lib/samplers.ts) against the diffusion core:
 * every sampler the core knows is offered, and every option the page sends for a sampler, with its
 * default value, is one the core's validation accepts for that sampler.
 */
import { describe, expect, it } from 'vitest';
import { OPTION_DEFAULTS, OPTION_HELP, SAMPLER_INFO, SAMPLER_ORDER } from '../../../../src-renderer/src/lib/samplers';
import { SAMPLER_NAMES, validateSamplerSettings } from '../../../../src-main/diffusion/index';
import { processOf } from '../../../../src-main/diffusion/model-family';

describe('sampler table', () => {
  it('lists exactly the samplers of the core, each once in the picker order', () => {
    expect(Object.keys(SAMPLER_INFO).sort()).toEqual([...SAMPLER_NAMES].sort());
    expect([...SAMPLER_ORDER].sort()).toEqual([...SAMPLER_NAMES].sort());
  });

  it("each sampler's options, at their defaults, pass the core's validation", () => {
    const process = processOf({ kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 });
    for (const name of SAMPLER_NAMES) {
      const info = SAMPLER_INFO[name];
      const options = Object.fromEntries(info.options.map((k) => [k, OPTION_DEFAULTS[k]]));
      const settings = validateSamplerSettings({ name, ...(info.steps ? { steps: 12 } : {}), ...options }, process);
      for (const k of info.options) expect(settings).toHaveProperty(k, OPTION_DEFAULTS[k]);
    }
  });

  it('only the adaptive solver picks its own steps; every option has help text', () => {
    expect(SAMPLER_NAMES.filter((n) => !SAMPLER_INFO[n].steps)).toEqual(['pf-ode']);
    for (const k of Object.keys(OPTION_DEFAULTS)) expect(OPTION_HELP[k as keyof typeof OPTION_HELP]).toMatch(/\w/);
  });
});
