/** The renderer's sampler picker and form data, derived from the sampler descriptors. */
import { describe, expect, it } from 'vitest';
import { OPTION_DEFAULTS, OPTION_HELP, OPTION_LABEL, SAMPLER_INFO, SAMPLER_ORDER, optionSpec, samplerFitFor } from '../../../src-renderer/src/lib/samplers';
import { SAMPLER_NAMES } from '../../../src-main/diffusion/samplers/index';
import { SAMPLER_OPTION_KEYS } from '../../../src-main/api/sampling-bounds';

describe('renderer sampler data', () => {
  it('lists every registry sampler once, with its label and blurb', () => {
    expect([...SAMPLER_ORDER].sort()).toEqual([...SAMPLER_NAMES].sort());
    expect(Object.keys(OPTION_DEFAULTS).sort()).toEqual([...SAMPLER_OPTION_KEYS].sort());
    expect(SAMPLER_ORDER[0]).toBe('dpmpp-2m');
    for (const n of SAMPLER_NAMES) {
      expect(SAMPLER_INFO[n].label.trim()).not.toBe('');
      expect(SAMPLER_INFO[n].blurb.length).toBeGreaterThan(10);
    }
    expect(SAMPLER_INFO['pf-ode'].steps).toBe(false);
    expect(SAMPLER_INFO.pc.options).toEqual(['snr', 'correctorSteps', 'sigmas', 'rho']);
  });

  it('the form starts at the same values as before the descriptors', () => {
    expect(OPTION_DEFAULTS).toMatchObject({ eta: 0, spacing: 'leading', sigmas: 'karras', rho: 7, churn: 0, snr: 0.16, correctorSteps: 1, variance: 'beta-tilde', rtol: 1e-4, atol: 1e-4 });
  });

  it('every option has a human label and help, never the raw key', () => {
    for (const k of SAMPLER_OPTION_KEYS as (keyof typeof OPTION_LABEL)[]) {
      expect(OPTION_LABEL[k]).not.toBe(k);
      expect(OPTION_HELP[k].length).toBeGreaterThan(10);
    }
    expect(OPTION_LABEL.correctorSteps).toBe('Corrector steps');
    expect(optionSpec('euler-ancestral', 'eta').default).toBe(1);
    expect(optionSpec('pc', 'sigmas').default).toBe('uniform-in-t');
  });

  it('warns when a sampler does not suit the model, and says why', () => {
    const discrete = { kind: 'discrete', beta: 'linear', trainSteps: 1000 } as const;
    const edm = { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 } as const;
    const pc = samplerFitFor('pc', discrete);
    expect(pc.level).toBe('warn');
    expect(pc.level !== 'ok' && pc.reason).toMatch(/1000 discrete steps.*DPM-Solver\+\+ 2M or DDIM/);
    expect(samplerFitFor('pf-ode', discrete).level).toBe('warn');
    expect(samplerFitFor('pc', edm).level).toBe('ok');
    const ddim = samplerFitFor('ddim', edm);
    expect(ddim.level).toBe('error');
    expect(ddim.level !== 'ok' && ddim.reason).toMatch(/VP-type/);
    expect(samplerFitFor('dpmpp-2m', discrete).level).toBe('ok');
    expect(samplerFitFor('ddim', null).level).toBe('ok');
  });
});
