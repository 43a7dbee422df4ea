/**
 * VP SDE (Song et al. 2021 eq. 11 / 32): dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw, beta(t) linear
 * from betaMin to betaMax on t in [0, 1] (the continuous limit of DDPM's linear betas times T).
 *   log s(t) = -1/4 t^2 (betaMax - betaMin) - 1/2 t betaMin,  std = sqrt(1 - s^2),  alphaBar = s^2
 *   sigma(t) = sqrt(exp(1/2 t^2 (bMax - bMin) + t bMin) - 1)
 */
import type { ContinuousProcess } from './process';
import { checkPositive } from './process';
import { DiffusionConfigError } from '../types';

/** B(t) = int_0^t beta = 1/2 t^2 (bMax - bMin) + t bMin, and its inverse. */
export function integratedBeta(t: number, bMin: number, bMax: number): number {
  return 0.5 * t * t * (bMax - bMin) + t * bMin;
}

export function integratedBetaInverse(B: number, bMin: number, bMax: number): number {
  const d = bMax - bMin;
  if (d === 0) return B / bMin;
  return (-bMin + Math.sqrt(bMin * bMin + 2 * d * B)) / d;
}

export function checkBetaRange(betaMin: number, betaMax: number): void {
  checkPositive('betaMin', betaMin, 'Song et al. use 0.1');
  checkPositive('betaMax', betaMax, 'Song et al. use 20');
  if (!(betaMax >= betaMin)) throw new DiffusionConfigError('betaMax', `betaMax (${betaMax}) must be >= betaMin (${betaMin})`);
}

export function vpProcess(betaMin = 0.1, betaMax = 20, tMin = 1e-5): ContinuousProcess {
  checkBetaRange(betaMin, betaMax);
  const B = (t: number) => integratedBeta(t, betaMin, betaMax);
  const p: ContinuousProcess = {
    kind: 'vp',
    tMin,
    tMax: 1,
    vpType: true,
    mean: (t) => Math.exp(-0.5 * B(t)),
    std: (t) => Math.sqrt(-Math.expm1(-B(t))),
    sigma: (t) => Math.sqrt(Math.expm1(B(t))),
    sigmaToT: (sigma) => integratedBetaInverse(Math.log1p(sigma * sigma), betaMin, betaMax),
    inputScale: (sigma) => 1 / Math.sqrt(1 + sigma * sigma),
    drift: (t) => -0.5 * (betaMin + t * (betaMax - betaMin)),
    diffusion: (t) => Math.sqrt(betaMin + t * (betaMax - betaMin)),
    priorStd: 1,
    alphaBar: (t) => Math.exp(-B(t)),
    config: { kind: 'vp', betaMin, betaMax },
  };
  return p;
}
