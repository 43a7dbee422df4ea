/**
 * Inference timesteps as diffusers' DDIMScheduler.set_timesteps defines them
 * (Lin et al. 2023 Table 2 names the three), descending, with steps_offset = 0 by default:
 *   leading:  ratio = floor(T / n); [0, ratio, ..., (n-1) ratio] reversed, + offset
 *   trailing: ratio = T / n; round(arange(T, 0, -ratio)) - 1            (starts at T-1)
 *   linspace: round(linspace(0, T-1, n)) reversed                       (starts at T-1, ends at 0)
 * Rounding is numpy's (half to even); stepsOffset applies to 'leading' only, as in diffusers.
 * 'trailing' reproduces numpy's float64 arange exactly (see npArangeDown), which is not the same
 * as T - k*T/n: for T = 1000 the two differ by one timestep for some n (e.g. 48). For some n
 * (e.g. 61 at T = 1000) numpy's arange yields n + 1 values, the last rounding to timestep -1;
 * diffusers then runs an extra, invalid step. We return the first n, which equal diffusers'.
 * tests/unit/diffusion/spacing-numpy.test.ts checks all three against numpy for every n.
 */
import { DiffusionConfigError } from '../types';
import { npLinspace, roundHalfEven } from '../math';

/**
 * numpy.arange(start, 0, -step) in float64, as numpy computes it: length ceil(start / step); the
 * second element is start - step, and element i is start + i * d with d = (start - step) - start
 * (numpy's DOUBLE_fill re-derives the increment from the first two elements).
 */
function npArangeDown(start: number, step: number): number[] {
  const length = Math.ceil((0 - start) / -step);
  if (!(length > 0)) return [];
  const second = start + -step;
  const d = second - start;
  const out = [start];
  if (length > 1) out.push(second);
  for (let i = 2; i < length; i++) out.push(start + i * d);
  return out;
}

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
    // Never shorter than `steps`; an (n+1)-th value, timestep -1, is dropped (see the header).
    ts = npArangeDown(T, T / steps)
      .slice(0, steps)
      .map((v) => roundHalfEven(v) - 1);
  } else {
    ts = Array.from(npLinspace(0, T - 1, steps), roundHalfEven).reverse();
  }
  for (const t of ts) {
    if (t < 0 || t > T - 1) {
      // Only 'leading' adds stepsOffset; the other spacings stay in range by construction.
      const why = spacing === 'leading' ? '; lower stepsOffset' : ` (${spacing} spacing, ${steps} steps: a bug, please report it)`;
      throw new DiffusionConfigError(spacing === 'leading' ? 'stepsOffset' : 'steps', `timestep ${t} falls outside [0, ${T - 1}]${why}`);
    }
  }
  return ts;
}
