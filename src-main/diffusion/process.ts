/**
 * One vocabulary over discrete schedules and continuous processes: a `Process` is either a
 * DiscreteSchedule (VP, T timesteps) or a ContinuousProcess (VP, sub-VP, VE, EDM). This module
 * validates the JSON schedule spec used by CLI/bench/records and answers the questions samplers ask
 * (sigma range, sigma <-> t, VP-type or not, starting-noise scale).
 */
import { DiffusionConfigError } from './types';
import { BETA_KINDS, makeDiscreteSchedule, sigmaToT as discreteSigmaToT, tToSigma as discreteTToSigma } from './schedules/index';
import type { DiscreteSchedule, DiscreteScheduleConfig } from './schedules/discrete';
import { validateLogSnrPoints } from './schedules/custom';
import { edmProcess, subVpProcess, veProcess, vpProcess, priorSigmaScaleStd, type ContinuousProcess } from './sde/index';
import { continuousCoordinates, discreteCoordinates, type ModelCoordinates } from './parameterisation';

export type Process = DiscreteSchedule | ContinuousProcess;

export type ScheduleSpec =
  | DiscreteScheduleConfig
  | { kind: 'vp'; betaMin: number; betaMax: number }
  | { kind: 'subvp'; betaMin: number; betaMax: number }
  | { kind: 've'; sigmaMin: number; sigmaMax: number }
  | { kind: 'edm'; sigmaMin: number; sigmaMax: number; sigmaData: number };

export const SCHEDULE_KINDS = ['discrete', 'vp', 'subvp', 've', 'edm'] as const;

function num(o: Record<string, unknown>, key: string, field: string, def: number | undefined): number {
  const v = o[key];
  if (v === undefined) {
    if (def === undefined) throw new DiffusionConfigError(`${field}.${key}`, `${field}.${key} is required`);
    return def;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DiffusionConfigError(`${field}.${key}`, `${field}.${key} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** Validate a schedule spec (JSON) and fill defaults; errors name the field. Builds it once to catch range errors. */
export function validateScheduleSpec(raw: unknown, field = 'schedule'): ScheduleSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DiffusionConfigError(field, `${field} must be an object with a "kind" (${SCHEDULE_KINDS.join(', ')})`);
  const o = raw as Record<string, unknown>;
  let spec: ScheduleSpec;
  switch (o.kind) {
    case 'discrete': {
      const beta = o.beta ?? 'linear';
      if (!BETA_KINDS.includes(beta as never)) throw new DiffusionConfigError(`${field}.beta`, `${field}.beta must be one of ${BETA_KINDS.join(', ')}, got ${JSON.stringify(beta)}`);
      const trainSteps = num(o, 'trainSteps', field, 1000);
      const s: DiscreteScheduleConfig = { kind: 'discrete', beta: beta as DiscreteScheduleConfig['beta'], trainSteps };
      if (o.betaStart !== undefined) s.betaStart = num(o, 'betaStart', field, undefined);
      if (o.betaEnd !== undefined) s.betaEnd = num(o, 'betaEnd', field, undefined);
      if (beta === 'custom') s.logSnrPoints = validateLogSnrPoints(o.logSnrPoints, `${field}.logSnrPoints`);
      if (o.zeroTerminalSnr !== undefined) {
        if (typeof o.zeroTerminalSnr !== 'boolean') throw new DiffusionConfigError(`${field}.zeroTerminalSnr`, `${field}.zeroTerminalSnr must be true or false`);
        s.zeroTerminalSnr = o.zeroTerminalSnr;
      }
      spec = s;
      break;
    }
    case 'vp':
    case 'subvp':
      spec = { kind: o.kind, betaMin: num(o, 'betaMin', field, 0.1), betaMax: num(o, 'betaMax', field, 20) };
      break;
    case 've':
      spec = { kind: 've', sigmaMin: num(o, 'sigmaMin', field, 0.01), sigmaMax: num(o, 'sigmaMax', field, 50) };
      break;
    case 'edm':
      spec = { kind: 'edm', sigmaMin: num(o, 'sigmaMin', field, 0.002), sigmaMax: num(o, 'sigmaMax', field, 80), sigmaData: num(o, 'sigmaData', field, 0.5) };
      break;
    default:
      throw new DiffusionConfigError(`${field}.kind`, `${field}.kind must be one of ${SCHEDULE_KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`);
  }
  try {
    makeProcess(spec);
  } catch (e) {
    if (e instanceof DiffusionConfigError && !e.field.startsWith(field)) throw new DiffusionConfigError(`${field}.${e.field}`, e.message);
    throw e;
  }
  return spec;
}

export function makeProcess(spec: ScheduleSpec): Process {
  switch (spec.kind) {
    case 'discrete':
      return makeDiscreteSchedule(spec);
    case 'vp':
      return vpProcess(spec.betaMin, spec.betaMax);
    case 'subvp':
      return subVpProcess(spec.betaMin, spec.betaMax);
    case 've':
      return veProcess(spec.sigmaMin, spec.sigmaMax);
    case 'edm':
      return edmProcess(spec.sigmaMin, spec.sigmaMax, spec.sigmaData);
    default:
      throw new DiffusionConfigError('schedule.kind', `unknown schedule kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

export function isDiscrete(p: Process): p is DiscreteSchedule {
  return p.kind === 'discrete';
}

/** VP-type: a discrete schedule, the VP or the sub-VP SDE (ddpm / ddim / alphaBar make sense). */
export function isVpType(p: Process): boolean {
  return isDiscrete(p) || p.vpType;
}

/** The sigma range a sampler walks by default. */
export function sigmaRange(p: Process): { sigmaMin: number; sigmaMax: number } {
  if (isDiscrete(p)) return { sigmaMin: p.sigmas[0], sigmaMax: p.sigmas[p.T - 1] };
  return { sigmaMin: p.sigma(p.tMin), sigmaMax: p.sigma(p.tMax) };
}

/** Model time for a sigma (fractional timestep for discrete schedules). */
export function processSigmaToT(p: Process, sigma: number): number {
  return isDiscrete(p) ? discreteSigmaToT(p, sigma) : p.sigmaToT(sigma);
}

export function processTToSigma(p: Process, t: number): number {
  return isDiscrete(p) ? discreteTToSigma(p, t) : p.sigma(t);
}

/** alphaBar for a sigma (VP-type processes): 1 / (1 + sigma^2). */
export function alphaBarOfSigma(sigma: number): number {
  return 1 / (1 + sigma * sigma);
}

/**
 * Std of the starting state in the sigma scale at sigma0: VP-type sqrt(1 + sigma0^2) (x_T ~ N(0, I) in
 * the VP scale, as diffusers' init_noise_sigma); VE: sigma0 (k-diffusion); EDM: sigma0.
 * For continuous VP-type processes at sigma0 = sigma(tMax) this is the process prior.
 */
export function initNoiseStd(p: Process, sigma0: number): number {
  if (isVpType(p)) return Math.sqrt(1 + sigma0 * sigma0);
  return sigma0;
}

/** Prior std in the sigma scale at sigmaMax (likelihood). */
export function priorStdSigmaScale(p: Process): number {
  if (isDiscrete(p)) return Math.sqrt(1 + p.sigmas[p.T - 1] ** 2);
  return priorSigmaScaleStd(p);
}

/** Network coordinates of a process (for the parameterisation adapters). */
export function processCoordinates(p: Process): ModelCoordinates {
  return isDiscrete(p) ? discreteCoordinates(p) : continuousCoordinates(p);
}
