/** Discrete schedule factory from a config (what runs, gallery records and the bench store). */
import { DiffusionConfigError } from '../types';
import { checkTrainSteps, cosineBetas, linearBetas, scaledLinearBetas, sigmoidBetas } from './betas';
import { customAlphasCumprod, validateLogSnrPoints } from './custom';
import {
  discreteScheduleFromAlphasCumprod,
  discreteScheduleFromBetas,
  type BetaKind,
  type DiscreteSchedule,
  type DiscreteScheduleConfig,
} from './discrete';
import { rescaleZeroTerminalSnr } from './zero-terminal-snr';

export * from './discrete';
export * from './betas';
export * from './custom';
export * from './zero-terminal-snr';
export * from './spacing';

export const BETA_KINDS: readonly BetaKind[] = ['linear', 'scaled-linear', 'cosine', 'sigmoid', 'custom'];

export function makeDiscreteSchedule(config: DiscreteScheduleConfig): DiscreteSchedule {
  const T = config.trainSteps;
  checkTrainSteps(T);
  let betas: Float64Array | undefined;
  let ab: Float64Array | undefined;
  switch (config.beta) {
    case 'linear':
      betas = linearBetas(T, config.betaStart ?? 0.0001, config.betaEnd ?? 0.02);
      break;
    case 'scaled-linear':
      betas = scaledLinearBetas(T, config.betaStart ?? 0.00085, config.betaEnd ?? 0.012);
      break;
    case 'cosine':
      betas = cosineBetas(T);
      break;
    case 'sigmoid':
      betas = sigmoidBetas(T, config.betaStart ?? 0.0001, config.betaEnd ?? 0.02);
      break;
    case 'custom':
      ab = customAlphasCumprod(T, validateLogSnrPoints(config.logSnrPoints));
      break;
    default:
      throw new DiffusionConfigError('beta', `beta must be one of ${BETA_KINDS.join(', ')}, got ${String(config.beta)}`);
  }
  if (config.zeroTerminalSnr) {
    const base = ab ?? discreteScheduleFromBetas(betas!, config).alphasCumprod;
    return discreteScheduleFromAlphasCumprod(rescaleZeroTerminalSnr(base), config);
  }
  return ab ? discreteScheduleFromAlphasCumprod(ab, config) : discreteScheduleFromBetas(betas!, config);
}
