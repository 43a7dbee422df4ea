/**
 * VE SDE (Song et al. 2021 eq. 9 / 30): sigma(t) = sigmaMin (sigmaMax / sigmaMin)^t,
 * dx = sigma(t) sqrt(2 log(sigmaMax / sigmaMin)) dw; s = 1, std = sigma (the SMLD convention that
 * ignores the sigmaMin^2 offset at t = 0); prior N(0, sigmaMax^2).
 */
import type { ContinuousProcess } from './process';
import { checkPositive } from './process';
import { DiffusionConfigError } from '../types';

export function veProcess(sigmaMin = 0.01, sigmaMax = 50, tMin = 1e-5): ContinuousProcess {
  checkPositive('sigmaMin', sigmaMin, 'Song et al. use 0.01');
  checkPositive('sigmaMax', sigmaMax, 'use about the largest distance between data points (50 for CIFAR-10)');
  if (!(sigmaMax > sigmaMin)) throw new DiffusionConfigError('sigmaMax', `sigmaMax (${sigmaMax}) must exceed sigmaMin (${sigmaMin})`);
  const L = Math.log(sigmaMax / sigmaMin);
  const sigma = (t: number) => sigmaMin * Math.exp(t * L);
  return {
    kind: 've',
    tMin,
    tMax: 1,
    vpType: false,
    mean: () => 1,
    std: sigma,
    sigma,
    sigmaToT: (s) => Math.log(s / sigmaMin) / L,
    inputScale: () => 1,
    drift: () => 0,
    diffusion: (t) => sigma(t) * Math.sqrt(2 * L),
    priorStd: sigmaMax,
    config: { kind: 've', sigmaMin, sigmaMax },
  };
}
