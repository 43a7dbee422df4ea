/**
 * The alphaBar sequence a VP-scale sampler (ddpm, ddim, pc on VP-type processes) walks: entries
 * 0..steps-1 are the noise levels visited, the last entry is alphaBar = 1 (DDIM's set_alpha_to_one)
 * with t = -1 for discrete schedules ("before timestep 0") and t = 0 for continuous processes.
 */
import { DiffusionConfigError } from '../types';
import type { DiscreteSchedule } from '../schedules/discrete';
import { timesteps as spacedTimesteps, type TimestepSpacing } from '../schedules/spacing';
import type { ContinuousProcess } from '../sde/process';
import { npLinspace } from '../math';

export interface VpPlan {
  /** model times, start to end (steps + 1 entries) */
  t: number[];
  /** alphaBar at each entry, increasing, last = 1 */
  alphasCumprod: number[];
}

export function discreteVpPlan(schedule: DiscreteSchedule, steps: number, spacing: TimestepSpacing = 'leading', stepsOffset = 0): VpPlan {
  if (!schedule || schedule.kind !== 'discrete') {
    throw new DiffusionConfigError('schedule', 'this sampler needs a VP-type schedule (discrete, vp or subvp); for VE/EDM use euler, heun, dpmpp-2m, pc or pf-ode');
  }
  const ts = spacedTimesteps(schedule.T, steps, spacing, stepsOffset);
  return { t: [...ts, -1], alphasCumprod: [...ts.map((t) => schedule.alphasCumprod[t]), 1] };
}

/** Continuous VP / sub-VP: t uniform from tMax to tMin (Song et al. 2021 samplers), alphaBar = 1/(1+sigma(t)^2). */
export function continuousVpPlan(process: ContinuousProcess, steps: number): VpPlan {
  if (!process.vpType) {
    throw new DiffusionConfigError('schedule', `this sampler needs a VP-type schedule (discrete, vp or subvp), not ${process.kind}; use euler, heun, dpmpp-2m, pc or pf-ode`);
  }
  if (!Number.isInteger(steps) || steps < 1) throw new DiffusionConfigError('steps', `steps must be an integer >= 1, got ${steps}`);
  const ts = steps === 1 ? [process.tMax] : Array.from(npLinspace(process.tMax, process.tMin, steps));
  return { t: [...ts, 0], alphasCumprod: [...ts.map((t) => 1 / (1 + process.sigma(t) ** 2)), 1] };
}

export function checkVpPlan(plan: VpPlan): void {
  const a = plan?.alphasCumprod;
  if (!a || a.length < 2 || plan.t.length !== a.length) throw new DiffusionConfigError('plan', 'a VP plan needs matching t and alphasCumprod arrays of at least 2 entries');
  for (let i = 0; i < a.length; i++) {
    if (!(a[i] > 0 && a[i] <= 1)) throw new DiffusionConfigError('plan', `alphasCumprod[${i}] = ${a[i]} must be in (0, 1]`);
    if (i > 0 && !(a[i] > a[i - 1])) throw new DiffusionConfigError('plan', `alphasCumprod must increase strictly (noise decreases); entry ${i} does not`);
  }
  if (a[a.length - 1] !== 1) throw new DiffusionConfigError('plan', 'the last alphasCumprod must be 1 (the clean end)');
}
