/**
 * Inference timesteps as diffusers' DDIMScheduler.set_timesteps defines them
 * (Lin et al. 2023 Table 2 names the three), descending, with steps_offset = 0 by default:
 *   leading:  ratio = floor(T / n); [0, ratio, ..., (n-1) ratio] reversed, + offset
 *   trailing: ratio = T / n; round(arange(T, 0, -ratio)) - 1            (starts at T-1)
 *   linspace: round(linspace(0, T-1, n)) reversed                       (starts at T-1, ends at 0)
 * Rounding is numpy's (half to even).
 */
import { DiffusionConfigError } from '../types';
import { npLinspace, roundHalfEven } from '../math';

export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';
export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'linspace', 'trailing'];

export function timesteps(T: number, steps: number, spacing: TimestepSpacing = 'leading', stepsOffset = 0): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new DiffusionConfigError('steps', `steps must be an integer >= 1, got ${steps}`);
  if (steps > T) {
    throw new DiffusionConfigError('steps', `steps (${steps}) cannot exceed the schedule's ${T} training timesteps; use at most ${T}`);
  }
  if (!TIMESTEP_SPACINGS.includes(spacing)) {
    throw new DiffusionConfigError('spacing', `spacing must be one of ${TIMESTEP_SPACINGS.join(', ')}, got ${String(spacing)}`);
  }
  let ts: number[];
  if (spacing === 'leading') {
    const ratio = Math.floor(T / steps);
    ts = Array.from({ length: steps }, (_, i) => i * ratio + stepsOffset).reverse();
  } else if (spacing === 'trailing') {
    const ratio = T / steps;
    ts = [];
    // numpy arange(T, 0, -ratio): T - k*ratio for k while > 0
    for (let k = 0; ; k++) {
      const v = T - k * ratio;
      if (!(v > 0)) break;
      ts.push(roundHalfEven(v) - 1);
    }
  } else {
    ts = Array.from(npLinspace(0, T - 1, steps), roundHalfEven).reverse();
  }
  for (const t of ts) {
    if (t < 0 || t > T - 1) {
      throw new DiffusionConfigError('stepsOffset', `timestep ${t} falls outside [0, ${T - 1}]; lower stepsOffset`);
    }
  }
  return ts;
}
