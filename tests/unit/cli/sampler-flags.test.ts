/** The CLI's sampler option flags are generated from the descriptors' recipe options. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSamplerOptionFlags, flagName, samplerOptionsFrom } from '../../../src-main/cli/sampler-flags';
import { SAMPLER_OPTION_KEYS } from '../../../src-main/api/sampling-bounds';

const parse = {
  num: (flag: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number`);
    return n;
  },
  int: (flag: string) => (v: string) => {
    if (!/^\d+$/.test(v)) throw new Error(`--${flag} must be an integer`);
    return Number(v);
  },
};

function cmd(): Command {
  return addSamplerOptionFlags(new Command('sample').exitOverride().configureOutput({ writeErr: () => {} }), parse);
}

describe('sampler option flags', () => {
  it('has one flag per recipe option, with label and the samplers that take it in its help', () => {
    const c = cmd();
    const flags = c.options.map((o) => o.long);
    expect(flags.sort()).toEqual(SAMPLER_OPTION_KEYS.map((k) => `--${flagName(k)}`).sort());
    const cs = c.options.find((o) => o.long === '--corrector-steps');
    expect(cs?.description).toMatch(/^Corrector steps: .*\(pc\)$/);
  });

  it('parses numbers, integers and choices into the request options', () => {
    const c = cmd();
    c.parse(['--eta', '0.5', '--corrector-steps', '2', '--sigmas', 'exponential', '--variance', 'beta'], { from: 'user' });
    expect(samplerOptionsFrom(c.opts())).toEqual({ eta: 0.5, correctorSteps: 2, sigmas: 'exponential', variance: 'beta' });
    expect(() => cmd().parse(['--sigmas', 'linear'], { from: 'user' })).toThrow(/karras/);
    expect(() => cmd().parse(['--eta', 'x'], { from: 'user' })).toThrow(/--eta must be a number/);
  });
});
