/**
 * Model families -> Denoiser adapters (k-diffusion external.py habit: quirks live here, never in
 * the samplers). Every adapter receives x in the sigma scale (x = x0 + sigma eps, types.ts) and
 * returns x0.
 *
 * Notation: the network sees x_t = s(sigma) * x where s is the process's mean coefficient
 * (VP: s = sqrt(alphaBar) = 1 / sqrt(1 + sigma^2); VE / EDM: s = 1), i.e.
 * x_t = s x0 + s sigma eps = alpha x0 + sigma_t eps with alpha = s, sigma_t = s sigma.
 *   eps   prediction (Ho et al. 2020):          x0 = x - sigma * eps
 *   x0    prediction:                           x0 = out
 *   v     prediction (Salimans & Ho 2022 §4, v = alpha eps - sigma_t x0):
 *         x0 = (alpha x_t - sigma_t v) / (alpha^2 + sigma_t^2) = (x - sigma v / s) / (1 + sigma^2)
 *   score prediction (Song et al. 2021, score of p_t at x_t):
 *         score = -(x_t - alpha x0) / sigma_t^2  =>  x0 = x + s sigma^2 score
 *   EDM preconditioning (Karras et al. 2022 eq. 7, Table 1):
 *         D = c_skip x + c_out F(c_in x; c_noise)
 */
import type { Denoiser, NoiseLevel, Shape } from './types';
import { DiffusionConfigError } from './types';
import { sigmaToT, type DiscreteSchedule } from './schedules/discrete';

/**
 * A raw network: input in its own scale, time in its own coordinate. Class-conditional networks
 * also take each row's class index (`labels`, length B; the null class of classifier-free guidance
 * is index K); guidance.ts turns such a network into a plain one for a chosen class and scale.
 */
export type NetworkFn = (xIn: Float32Array, shape: Shape, t: number, labels?: Int32Array) => Promise<Float32Array>;

export type Prediction = 'eps' | 'x0' | 'v' | 'score';
export const PREDICTIONS: readonly Prediction[] = ['eps', 'x0', 'v', 'score'];

/** How a network sees a sigma-scale state: input scale s(sigma) and its time coordinate. */
export interface ModelCoordinates {
  /** s(sigma): network input x_t = s * x (VP: 1/sqrt(1+sigma^2), VE/EDM: 1). */
  inputScale(sigma: number): number;
  /** the network's time for a noise level (level.t when known exactly). */
  timeOf(level: NoiseLevel): number;
}

/**
 * Discrete VP schedule: s = 1/sqrt(1+sigma^2); t = level.t when given, else the fractional
 * timestep from log-sigma interpolation (rounded to the nearest integer when `quantize`).
 */
export function discreteCoordinates(schedule: DiscreteSchedule, opts: { quantize?: boolean } = {}): ModelCoordinates {
  return {
    inputScale: (sigma) => 1 / Math.sqrt(1 + sigma * sigma),
    timeOf: (level) => {
      if (level.t !== undefined) return level.t;
      const t = sigmaToT(schedule, level.sigma);
      return opts.quantize ? Math.round(t) : t;
    },
  };
}

/** Anything with the two maps (the SDE classes implement them). */
export interface ContinuousProcessLike {
  /** mean coefficient s(t) of the process at the time whose k-diffusion sigma is `sigma` */
  inputScale(sigma: number): number;
  /** continuous time for a k-diffusion sigma */
  sigmaToT(sigma: number): number;
}

export function continuousCoordinates(process: ContinuousProcessLike): ModelCoordinates {
  return {
    inputScale: (sigma) => process.inputScale(sigma),
    timeOf: (level) => (level.t !== undefined ? level.t : process.sigmaToT(level.sigma)),
  };
}

function scaled(x: Float32Array, s: number): Float32Array {
  if (s === 1) return x.slice();
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * s;
  return out;
}

function checkOutput(out: Float32Array, x: Float32Array): void {
  if (out.length !== x.length) {
    throw new DiffusionConfigError('model', `the model returned ${out.length} values for an input of ${x.length}`);
  }
}

/** x0 from a network output for one prediction kind (formulas in the header). */
export function x0FromPrediction(prediction: Prediction, x: Float32Array, out: Float32Array, sigma: number, s: number): Float32Array {
  const x0 = new Float32Array(x.length);
  switch (prediction) {
    case 'eps':
      for (let i = 0; i < x.length; i++) x0[i] = x[i] - sigma * out[i];
      break;
    case 'x0':
      x0.set(out);
      break;
    case 'v': {
      const a = 1 / (1 + sigma * sigma);
      const b = sigma / s;
      for (let i = 0; i < x.length; i++) x0[i] = (x[i] - b * out[i]) * a;
      break;
    }
    case 'score': {
      const c = s * sigma * sigma;
      for (let i = 0; i < x.length; i++) x0[i] = x[i] + c * out[i];
      break;
    }
    default:
      throw new DiffusionConfigError('prediction', `prediction must be one of ${PREDICTIONS.join(', ')}, got ${String(prediction)}`);
  }
  return x0;
}

/** The general adapter: network + what it predicts + how it sees the state -> Denoiser. */
export function denoiserFromNetwork(model: NetworkFn, prediction: Prediction, coords: ModelCoordinates): Denoiser {
  if (!PREDICTIONS.includes(prediction)) {
    throw new DiffusionConfigError('prediction', `prediction must be one of ${PREDICTIONS.join(', ')}, got ${String(prediction)}`);
  }
  return async (x, shape, level) => {
    const s = coords.inputScale(level.sigma);
    const out = await model(scaled(x, s), shape, coords.timeOf(level));
    checkOutput(out, x);
    return x0FromPrediction(prediction, x, out, level.sigma, s);
  };
}

export const epsDenoiserDiscrete = (model: NetworkFn, schedule: DiscreteSchedule, opts?: { quantize?: boolean }): Denoiser =>
  denoiserFromNetwork(model, 'eps', discreteCoordinates(schedule, opts));
export const x0DenoiserDiscrete = (model: NetworkFn, schedule: DiscreteSchedule, opts?: { quantize?: boolean }): Denoiser =>
  denoiserFromNetwork(model, 'x0', discreteCoordinates(schedule, opts));
export const vDenoiserDiscrete = (model: NetworkFn, schedule: DiscreteSchedule, opts?: { quantize?: boolean }): Denoiser =>
  denoiserFromNetwork(model, 'v', discreteCoordinates(schedule, opts));
export const scoreDenoiserDiscrete = (model: NetworkFn, schedule: DiscreteSchedule, opts?: { quantize?: boolean }): Denoiser =>
  denoiserFromNetwork(model, 'score', discreteCoordinates(schedule, opts));

export const epsDenoiserContinuous = (model: NetworkFn, process: ContinuousProcessLike): Denoiser =>
  denoiserFromNetwork(model, 'eps', continuousCoordinates(process));
export const x0DenoiserContinuous = (model: NetworkFn, process: ContinuousProcessLike): Denoiser =>
  denoiserFromNetwork(model, 'x0', continuousCoordinates(process));
export const vDenoiserContinuous = (model: NetworkFn, process: ContinuousProcessLike): Denoiser =>
  denoiserFromNetwork(model, 'v', continuousCoordinates(process));
export const scoreDenoiserContinuous = (model: NetworkFn, process: ContinuousProcessLike): Denoiser =>
  denoiserFromNetwork(model, 'score', continuousCoordinates(process));

/** Karras et al. 2022 Table 1 (EDM column) preconditioning coefficients. */
export function edmPreconditioning(sigma: number, sigmaData: number): { cSkip: number; cOut: number; cIn: number; cNoise: number } {
  const s2 = sigma * sigma;
  const d2 = sigmaData * sigmaData;
  return {
    cSkip: d2 / (s2 + d2),
    cOut: (sigma * sigmaData) / Math.sqrt(s2 + d2),
    cIn: 1 / Math.sqrt(s2 + d2),
    cNoise: Math.log(sigma) / 4,
  };
}

/** EDM-preconditioned network F(c_in x; c_noise) -> Denoiser D = c_skip x + c_out F (EDM eq. 7). */
export function edmDenoiser(model: (xIn: Float32Array, shape: Shape, cNoise: number) => Promise<Float32Array>, sigmaData = 0.5): Denoiser {
  if (!(sigmaData > 0)) throw new DiffusionConfigError('sigmaData', `sigmaData must be > 0, got ${sigmaData}`);
  return async (x, shape, level) => {
    const { cSkip, cOut, cIn, cNoise } = edmPreconditioning(level.sigma, sigmaData);
    const out = await model(scaled(x, cIn), shape, cNoise);
    checkOutput(out, x);
    const x0 = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) x0[i] = cSkip * x[i] + cOut * out[i];
    return x0;
  };
}

/**
 * Training targets for each prediction kind given x0 and eps at a level (alpha = s, sigma_t = s sigma):
 * the inverse maps of x0FromPrediction (used by trainers and by round-trip tests).
 */
export function predictionTarget(prediction: Prediction | 'edm', x0: Float32Array, eps: Float32Array, sigma: number, s = 1 / Math.sqrt(1 + sigma * sigma), sigmaData = 0.5): Float32Array {
  const out = new Float32Array(x0.length);
  const alpha = s;
  const sigmaT = s * sigma;
  for (let i = 0; i < x0.length; i++) {
    switch (prediction) {
      case 'eps':
        out[i] = eps[i];
        break;
      case 'x0':
        out[i] = x0[i];
        break;
      case 'v':
        out[i] = alpha * eps[i] - sigmaT * x0[i];
        break;
      case 'score':
        out[i] = -eps[i] / sigmaT;
        break;
      case 'edm': {
        // F target = (x0 - c_skip x) / c_out with x = x0 + sigma eps (EDM eq. 8)
        const c = edmPreconditioning(sigma, sigmaData);
        out[i] = (x0[i] - c.cSkip * (x0[i] + sigma * eps[i])) / c.cOut;
        break;
      }
      default:
        throw new DiffusionConfigError('prediction', `unknown prediction ${String(prediction)}`);
    }
  }
  return out;
}
