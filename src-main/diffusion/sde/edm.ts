/**
 * EDM process (Karras et al. 2022 §2 and Table 1): s(t) = 1, sigma(t) = t, so
 * dx = sqrt(2 t) dw (d sigma^2 / dt = 2 sigma); sampling between sigmaMin and sigmaMax with prior
 * N(0, sigmaMax^2). sigmaData is the data std used by the preconditioning (parameterisation.ts).
 */
import type { ContinuousProcess } from './process';
import { checkPositive } from './process';
import { DiffusionConfigError } from '../types';

export interface EdmProcess extends ContinuousProcess {
  readonly sigmaData: number;
}

export function edmProcess(sigmaMin = 0.002, sigmaMax = 80, sigmaData = 0.5): EdmProcess {
  checkPositive('sigmaMin', sigmaMin, 'EDM uses 0.002');
  checkPositive('sigmaMax', sigmaMax, 'EDM uses 80');
  checkPositive('sigmaData', sigmaData, 'EDM uses 0.5');
  if (!(sigmaMax > sigmaMin)) throw new DiffusionConfigError('sigmaMax', `sigmaMax (${sigmaMax}) must exceed sigmaMin (${sigmaMin})`);
  return {
    kind: 'edm',
    tMin: sigmaMin,
    tMax: sigmaMax,
    vpType: false,
    sigmaData,
    mean: () => 1,
    std: (t) => t,
    sigma: (t) => t,
    sigmaToT: (s) => s,
    inputScale: () => 1,
    drift: () => 0,
    diffusion: (t) => Math.sqrt(2 * t),
    priorStd: sigmaMax,
    config: { kind: 'edm', sigmaMin, sigmaMax, sigmaData },
  };
}
