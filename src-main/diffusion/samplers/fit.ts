/** Which processes a sampler suits, in words a person can act on (shared by several descriptors). */
import { DiffusionConfigError } from '../types';
import { isDiscrete, isVpType, type Process } from '../process';
import type { SamplerFit } from './descriptor';

/** ddpm and ddim walk alphaBar: they need a variance-preserving process. */
export function vpOnly(name: string): (process: Process) => SamplerFit {
  return (process) =>
    isVpType(process)
      ? { level: 'ok' }
      : { level: 'error', reason: `${name} needs a VP-type schedule (discrete, vp or subvp) but the schedule is ${process.kind}; use euler, heun, dpmpp-2m, pc or pf-ode instead` };
}

/** pc and pf-ode are made for continuous-time models; on a discrete one they run between the timesteps it learned. */
export function continuousPreferred(label: string): (process: Process) => SamplerFit {
  return (process) =>
    isDiscrete(process)
      ? {
          level: 'warn',
          reason: `${label} is made for continuous-time models; this one was trained on ${process.T} discrete steps, so it asks the model about times between them — use DPM-Solver++ 2M or DDIM for better images in fewer steps`,
        }
      : { level: 'ok' };
}

/** On a discrete schedule, a VP sampler cannot take more steps than the training timesteps. */
export function stepsWithinTimesteps(name: string, steps: number | undefined, process: Process, field: string): void {
  if (isDiscrete(process) && (steps ?? process.T) > process.T) {
    throw new DiffusionConfigError(`${field}.steps`, `${name} steps (${steps}) cannot exceed the schedule's ${process.T} training timesteps`);
  }
}
