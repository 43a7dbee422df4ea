/**
 * Sigma sequences for the sigma-space samplers (k-diffusion sampling.py get_sigmas_*). Every
 * sequence has `steps` noise levels, decreasing, then a final 0 (steps + 1 entries). They are not
 * quantised to training timesteps (the samplers pass the fractional t to the adapters).
 */
import { DiffusionConfigError } from '../types';
import { npLinspace } from '../math';

export type SigmaKind = 'karras' | 'exponential' | 'uniform-in-t';
export const SIGMA_KINDS: readonly SigmaKind[] = ['karras', 'exponential', 'uniform-in-t'];

function check(steps: number, sigmaMin: number, sigmaMax: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new DiffusionConfigError('steps', `steps must be an integer >= 1, got ${steps}`);
  if (!(sigmaMin > 0 && Number.isFinite(sigmaMax) && sigmaMax > sigmaMin)) {
    throw new DiffusionConfigError('sigmaMax', `need 0 < sigmaMin < sigmaMax, got ${sigmaMin} .. ${sigmaMax}`);
  }
}

/** Karras et al. 2022 eq. 5: sigma_i = (sMax^(1/rho) + i/(n-1) (sMin^(1/rho) - sMax^(1/rho)))^rho, then 0. */
export function karrasSigmas(steps: number, sigmaMin: number, sigmaMax: number, rho = 7): number[] {
  check(steps, sigmaMin, sigmaMax);
  if (!(rho > 0)) throw new DiffusionConfigError('rho', `rho must be > 0, got ${rho} (Karras et al. use 7)`);
  if (steps === 1) return [sigmaMax, 0];
  const a = sigmaMax ** (1 / rho);
  const b = sigmaMin ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push((a + (i / (steps - 1)) * (b - a)) ** rho);
  out.push(0);
  return out;
}

/** Log-uniform sigmas (k-diffusion get_sigmas_exponential), then 0. */
export function exponentialSigmas(steps: number, sigmaMin: number, sigmaMax: number): number[] {
  check(steps, sigmaMin, sigmaMax);
  if (steps === 1) return [sigmaMax, 0];
  const l = npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), steps);
  return [...Array.from(l, Math.exp), 0];
}

/** sigma(t) at t uniform from tMax to tMin (for discrete schedules t from T-1 to 0, k-diffusion get_sigmas), then 0. */
export function uniformInTSigmas(steps: number, tMax: number, tMin: number, sigmaOfT: (t: number) => number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new DiffusionConfigError('steps', `steps must be an integer >= 1, got ${steps}`);
  if (steps === 1) return [sigmaOfT(tMax), 0];
  return [...Array.from(npLinspace(tMax, tMin, steps), sigmaOfT), 0];
}
