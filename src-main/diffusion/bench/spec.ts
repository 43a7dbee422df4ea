/**
 * Bench specs (`sfumato bench samplers|likelihood --spec SPEC.json`): validation with errors that
 * name the field and the fix (the CLI maps DiffusionConfigError to exit code 2).
 */
import { DiffusionConfigError } from '../types';
import { validateMixture, type MixtureSpec } from '../oracle';
import { makeProcess, validateScheduleSpec, type ScheduleSpec } from '../process';
import { validateSamplerSettings, type SamplerSettings } from '../samplers/index';

export interface SamplerBenchSpec {
  mixture: MixtureSpec;
  schedule: ScheduleSpec;
  samplers: SamplerSettings[];
  n: number;
  seed: number;
  /** path of an n x D float32 LE standard-normal file (read by the CLI, passed as initNoise) */
  initNoise?: string;
}

export interface LikelihoodBenchSpec {
  mixture: MixtureSpec;
  schedule: ScheduleSpec;
  n: number;
  seed: number;
  probes: 'rademacher' | 'gaussian';
  probeCount: number;
  rtol: number;
  atol: number;
  /** number of VLB levels for continuous processes (discrete schedules use all T) */
  vlbSteps: number;
  variance: 'beta-tilde' | 'beta';
}

function checkObject(raw: unknown, what: string): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DiffusionConfigError('spec', `the ${what} spec must be a JSON object`);
  return raw as Record<string, unknown>;
}

function checkKeys(o: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new DiffusionConfigError(k, `unknown field "${k}"; the spec takes ${allowed.join(', ')}`);
  }
}

function intField(o: Record<string, unknown>, key: string, def: number, min: number, max: number): number {
  const v = o[key] ?? def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new DiffusionConfigError(key, `${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(o[key])}`);
  }
  return v;
}

function posField(o: Record<string, unknown>, key: string, def: number): number {
  const v = o[key] ?? def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new DiffusionConfigError(key, `${key} must be a number > 0, got ${JSON.stringify(o[key])}`);
  return v;
}

export function validateSamplerBenchSpec(raw: unknown): SamplerBenchSpec {
  const o = checkObject(raw, 'sampler bench');
  checkKeys(o, ['mixture', 'schedule', 'samplers', 'n', 'seed', 'initNoise']);
  const mixture = validateMixture(o.mixture, 'mixture');
  const schedule = validateScheduleSpec(o.schedule, 'schedule');
  const process = makeProcess(schedule);
  if (!Array.isArray(o.samplers) || o.samplers.length === 0) {
    throw new DiffusionConfigError('samplers', 'samplers must be a non-empty array like [{"name": "ddim", "steps": 10}]');
  }
  const samplers = o.samplers.map((s, i) => validateSamplerSettings(s, process, `samplers[${i}]`));
  const n = intField(o, 'n', 4096, 2, 1_000_000);
  const seed = intField(o, 'seed', 0, 0, 2 ** 52);
  const spec: SamplerBenchSpec = { mixture, schedule, samplers, n, seed };
  if (o.initNoise !== undefined) {
    if (typeof o.initNoise !== 'string' || o.initNoise.length === 0) throw new DiffusionConfigError('initNoise', 'initNoise must be a file path (n x D float32 little-endian standard normals)');
    spec.initNoise = o.initNoise;
  }
  return spec;
}

export function validateLikelihoodBenchSpec(raw: unknown): LikelihoodBenchSpec {
  const o = checkObject(raw, 'likelihood bench');
  checkKeys(o, ['mixture', 'schedule', 'n', 'seed', 'probes', 'probeCount', 'rtol', 'atol', 'vlbSteps', 'variance']);
  const mixture = validateMixture(o.mixture, 'mixture');
  const schedule = validateScheduleSpec(o.schedule, 'schedule');
  const probes = o.probes ?? 'rademacher';
  if (probes !== 'rademacher' && probes !== 'gaussian') throw new DiffusionConfigError('probes', `probes must be "rademacher" or "gaussian", got ${JSON.stringify(probes)}`);
  const variance = o.variance ?? 'beta-tilde';
  if (variance !== 'beta-tilde' && variance !== 'beta') throw new DiffusionConfigError('variance', `variance must be "beta-tilde" or "beta", got ${JSON.stringify(variance)}`);
  return {
    mixture,
    schedule,
    n: intField(o, 'n', 256, 2, 1_000_000),
    seed: intField(o, 'seed', 0, 0, 2 ** 52),
    probes,
    probeCount: intField(o, 'probeCount', 1, 1, 1000),
    rtol: posField(o, 'rtol', 1e-5),
    atol: posField(o, 'atol', 1e-5),
    vlbSteps: intField(o, 'vlbSteps', 1000, 1, 100000),
    variance,
  };
}
