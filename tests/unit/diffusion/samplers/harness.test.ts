/**
 * The sampler harness: every sampler in the registry passes these checks with no edit here. A new
 * sampler gets them by being listed in samplers/registry.ts.
 *
 * - its descriptor is well formed (labels and help present, defaults inside the bounds, a shared
 *   option key means the same thing in every sampler);
 * - validation refuses out-of-bounds values and unknown options, naming the field, and refuses a
 *   process it does not fit with the descriptor's own reason;
 * - the AbortSignal stops it;
 * - image b sampled alone equals row b of a batch (unless the descriptor says why not);
 * - on the Gaussian-mixture oracle (exact denoiser, diffusion/oracle.ts) it samples the mixture's
 *   moments at a generous step count, better than at 3 steps.
 */
import { describe, expect, it } from 'vitest';
import { GaussianMixture } from '../../../../src-main/diffusion/oracle';
import { makeProcess, type Process, type ScheduleSpec } from '../../../../src-main/diffusion/process';
import { batchNoise, consecutiveSeeds } from '../../../../src-main/diffusion/rng';
import {
  domainProblem,
  planSampler,
  runSampler,
  samplerFit,
  SAMPLERS,
  startState,
  validateSamplerSettings,
  type OptionSpec,
  type SamplerDescriptor,
  type SamplerSettings,
} from '../../../../src-main/diffusion/samplers/index';
import { sampleMoments, rmsDiff } from '../../../../src-main/diffusion/bench/metrics';
import { DiffusionConfigError } from '../../../../src-main/diffusion/types';

const ALL = SAMPLERS as readonly SamplerDescriptor[];
const SCHEDULES: ScheduleSpec[] = [
  { kind: 'discrete', beta: 'linear', trainSteps: 1000 },
  { kind: 'vp', betaMin: 0.1, betaMax: 20 },
  { kind: 've', sigmaMin: 0.01, sigmaMax: 50 },
  { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 },
];
const PROCESSES = SCHEDULES.map((s) => makeProcess(s));

/** The first test process the sampler fits without a warning (else the first it accepts). */
function homeOf(d: SamplerDescriptor): Process {
  const fit = (p: Process) => d.fit?.(p).level ?? 'ok';
  return PROCESSES.find((p) => fit(p) === 'ok') ?? (PROCESSES.find((p) => fit(p) !== 'error') as Process);
}

function settingsOf(d: SamplerDescriptor, steps: number, extra: Record<string, unknown> = {}): SamplerSettings {
  return { name: d.name, ...('steps' in d.options ? { steps } : {}), ...extra } as SamplerSettings;
}

const mix = new GaussianMixture({
  weights: [0.3, 0.7],
  means: [
    [-1, 0.5],
    [1, -0.5],
  ],
  stds: [
    [0.3, 0.2],
    [0.4, 0.25],
  ],
});
const D = 2;

async function sample(d: SamplerDescriptor, process: Process, s: SamplerSettings, seeds: number[], signal?: AbortSignal, onStep?: () => void) {
  const noise = batchNoise(seeds, D);
  const plan = planSampler(validateSamplerSettings(s, process), process);
  return runSampler(mix.denoiser(), startState(plan, noise.initial()), [seeds.length, D], s, process, { noise, signal, onStep });
}

/** Values outside an option's domain (and, when it has one, outside its recipe bounds is checked at the edge). */
function outside(o: OptionSpec): unknown[] {
  if (o.type === 'choice') return ['no-such-choice', 3];
  const out: unknown[] = [o.minExclusive ? o.min : o.min - 1, 'a string', Number.NaN];
  if (o.max !== undefined) out.push(o.max + 1);
  if (o.type === 'int') out.push(o.min + 0.5);
  return out;
}

describe('every registry sampler passes the harness', () => {
  it('the registry has unique names, and a shared option key is declared alike everywhere', () => {
    expect(new Set(ALL.map((d) => d.name)).size).toBe(ALL.length);
    const first = new Map<string, { by: string; o: OptionSpec }>();
    for (const d of ALL) {
      for (const [k, o] of Object.entries(d.options)) {
        const f = first.get(k);
        if (!f) {
          first.set(k, { by: d.name, o });
          continue;
        }
        const shape = (x: OptionSpec) => JSON.stringify({ type: x.type, min: 'min' in x ? x.min : undefined, max: 'max' in x ? x.max : undefined, recipe: x.recipe, choices: 'choices' in x ? x.choices : undefined });
        expect(shape(o), `${d.name}.${k} differs from ${f.by}.${k}`).toBe(shape(f.o));
      }
    }
  });

  for (const d of ALL) {
    describe(d.name, () => {
      it('descriptor: name, label, blurb, options with labels, help and defaults inside their bounds', () => {
        expect(d.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
        expect(d.label.trim()).not.toBe('');
        expect(d.blurb.trim().length).toBeGreaterThan(10);
        for (const [k, o] of Object.entries(d.options)) {
          expect(o.label.trim(), `${k} label`).not.toBe('');
          expect(o.label, `${k} label is a human label, not the key`).not.toBe(k);
          expect(o.help.trim().length, `${k} help`).toBeGreaterThan(10);
          for (const v of [o.default, o.suggested]) {
            if (v === undefined) continue;
            expect(domainProblem(o, v), `${k} = ${v}`).toBeUndefined();
            if (o.type !== 'choice' && o.recipe) expect((v as number) >= o.recipe.min && (v as number) <= o.recipe.max, `${k} = ${v} in recipe bounds`).toBe(true);
          }
          if (o.default === undefined && !o.required) expect(o.defaultText, `${k} says what is used when absent`).toBeTruthy();
          if (o.type !== 'choice' && o.recipe) {
            expect(domainProblem(o, o.recipe.min), `${k} recipe min`).toBeUndefined();
            expect(domainProblem(o, o.recipe.max), `${k} recipe max`).toBeUndefined();
          }
        }
      });

      it('validation refuses out-of-bounds values and unknown options, naming the field', () => {
        const p = homeOf(d);
        const base = settingsOf(d, 4) as unknown as Record<string, unknown>;
        expect(validateSamplerSettings(base, p, 'x')).toEqual(base);
        for (const [k, o] of Object.entries(d.options)) {
          for (const v of outside(o)) {
            expect(() => validateSamplerSettings({ ...base, [k]: v }, p, 'x'), `${k} = ${String(v)}`).toThrow(expect.objectContaining({ field: `x.${k}`, message: expect.stringContaining(k) }));
          }
        }
        expect(() => validateSamplerSettings({ ...base, notAnOption: 1 }, p, 'x')).toThrow(expect.objectContaining({ field: 'x.notAnOption', message: expect.stringContaining(`not an option of ${d.name}`) }));
      });

      it('a process it does not fit is refused with the descriptor’s reason; a poor fit still validates', () => {
        for (const p of PROCESSES) {
          const fit = samplerFit(d.name as SamplerSettings['name'], p);
          if (fit.level === 'error') {
            expect(() => validateSamplerSettings(settingsOf(d, 4), p, 'x')).toThrow(expect.objectContaining({ field: 'x.name', message: fit.reason }));
          } else {
            if (fit.level === 'warn') expect(fit.reason.length).toBeGreaterThan(20);
            expect(validateSamplerSettings(settingsOf(d, 4), p).name).toBe(d.name);
          }
        }
      });

      it('the AbortSignal stops it, before the first step and between steps', async () => {
        const p = homeOf(d);
        const before = new AbortController();
        before.abort();
        await expect(sample(d, p, settingsOf(d, 6), [1, 2], before.signal)).rejects.toMatchObject({ name: 'AbortError' });
        const during = new AbortController();
        await expect(sample(d, p, settingsOf(d, 6), [1, 2], during.signal, () => during.abort())).rejects.toMatchObject({ name: 'AbortError' });
      });

      it.skipIf(d.batchCoupled !== undefined)('image b alone equals row b of a batch (per-image seeded noise)', async () => {
        const p = homeOf(d);
        const s = settingsOf(d, 6);
        const batch = await sample(d, p, s, [7, 8, 9]);
        const alone = await sample(d, p, s, [8]);
        expect(Array.from(alone.x)).toEqual(Array.from(batch.x.slice(D, 2 * D)));
        const again = await sample(d, p, s, [7, 8, 9]);
        expect(Array.from(again.x)).toEqual(Array.from(batch.x));
      });

      it('samples the oracle mixture at a generous step count, better than at 3 steps', async () => {
        const p = homeOf(d);
        const truth = mix.moments();
        const trueStd = truth.variance.map(Math.sqrt);
        const n = 1500;
        const err = async (s: SamplerSettings) => {
          const r = await sample(d, p, s, consecutiveSeeds(11, n));
          const m = sampleMoments(r.x, D);
          return { mean: rmsDiff(m.mean, truth.mean), std: rmsDiff(m.std, trueStd) };
        };
        const fine = await err(settingsOf(d, 200));
        expect(fine.mean).toBeLessThan(0.05);
        expect(fine.std).toBeLessThan(0.04);
        if ('steps' in d.options) {
          const coarse = await err(settingsOf(d, 3));
          expect(fine.mean + fine.std).toBeLessThan(coarse.mean + coarse.std);
        }
      });
    });
  }
});

describe('harness self-check', () => {
  it('validation errors are DiffusionConfigErrors', () => {
    expect(() => validateSamplerSettings({ name: 'euler', steps: -1 }, PROCESSES[0])).toThrow(DiffusionConfigError);
  });
});
