/** Shared sampler vocabulary (k-diffusion sampling.py helpers, named after the maths). */
import type { Denoiser, NoiseLevel, SamplerCommon, Shape, StepInfo } from '../types';
import { DiffusionConfigError } from '../types';

/** Thrown when the AbortSignal fires; `name === 'AbortError'` like DOM aborts. */
export class AbortError extends Error {
  constructor(message = 'sampling was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

export function checkCommon(x: Float32Array, shape: Shape, common: SamplerCommon): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new DiffusionConfigError('shape', `shape must be positive integers, got [${shape.join(', ')}]`);
  }
  if (n !== x.length) throw new DiffusionConfigError('shape', `shape [${shape.join(', ')}] has ${n} elements but x has ${x.length}`);
  if (!common || !common.noise) throw new DiffusionConfigError('noise', 'pass a BatchNoise (rng.ts batchNoise) as options.noise');
}

/** Float32 copy of a float64 working state (for the denoiser and onStep). */
export function f32(x: Float64Array | Float32Array): Float32Array {
  return x instanceof Float32Array ? x.slice() : Float32Array.from(x);
}

export function f64(x: Float32Array | Float64Array): Float64Array {
  return Float64Array.from(x);
}

/** Call the denoiser on a float64 state, validating its output. */
export async function denoise(denoiser: Denoiser, x: Float64Array, shape: Shape, level: NoiseLevel): Promise<Float32Array> {
  const out = await denoiser(f32(x), shape, level);
  if (!(out instanceof Float32Array) || out.length !== x.length) {
    throw new DiffusionConfigError('denoiser', `the denoiser must return a Float32Array of ${x.length} values`);
  }
  return out;
}

/** k-diffusion to_d: dx/dsigma of the probability-flow ODE in the sigma scale, (x - D) / sigma (EDM eq. 4 with s = 1). */
export function toD(x: Float64Array, x0: Float32Array, sigma: number): Float64Array {
  const d = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) d[i] = (x[i] - x0[i]) / sigma;
  return d;
}

/**
 * k-diffusion get_ancestral_step: split a step sigma -> sigmaNext of the reverse SDE into a
 * deterministic move to sigmaDown and fresh noise of std sigmaUp, with
 * sigmaUp = min(sigmaNext, eta sqrt(sigmaNext^2 (sigma^2 - sigmaNext^2) / sigma^2)),
 * sigmaDown = sqrt(sigmaNext^2 - sigmaUp^2).
 */
export function ancestralStep(sigma: number, sigmaNext: number, eta = 1): { sigmaDown: number; sigmaUp: number } {
  if (sigmaNext === 0 || eta === 0) return { sigmaDown: sigmaNext, sigmaUp: 0 };
  const sigmaUp = Math.min(sigmaNext, eta * Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma)));
  const sigmaDown = Math.sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
  return { sigmaDown, sigmaUp };
}

export async function report(common: SamplerCommon, info: Omit<StepInfo, 'x'> & { x: Float64Array | Float32Array }): Promise<void> {
  if (common.onStep) await common.onStep({ ...info, x: f32(info.x) });
}

/** Validate a sigma sequence: finite, >= 0, strictly decreasing, at least 2 entries. */
export function checkSigmas(sigmas: ArrayLike<number>, field = 'sigmas'): void {
  if (!sigmas || sigmas.length < 2) throw new DiffusionConfigError(field, `${field} needs at least 2 values (start and end)`);
  for (let i = 0; i < sigmas.length; i++) {
    if (!Number.isFinite(sigmas[i]) || sigmas[i] < 0) throw new DiffusionConfigError(field, `${field}[${i}] = ${sigmas[i]} must be finite and >= 0`);
    if (i > 0 && !(sigmas[i] < sigmas[i - 1])) throw new DiffusionConfigError(field, `${field} must decrease strictly; ${field}[${i}] = ${sigmas[i]} does not`);
  }
}

export function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new DiffusionConfigError('steps', `steps must be an integer >= 1, got ${steps}`);
}

/** Options of every sigma-space sampler (k-diffusion signature: model, x, sigmas, callback). */
export interface SigmaSamplerOptions extends SamplerCommon {
  /** decreasing noise levels, last one usually 0 (steps + 1 entries) */
  sigmas: ArrayLike<number>;
  /** model time for a sigma, passed to the denoiser as level.t (e.g. processSigmaToT) */
  sigmaToT?: (sigma: number) => number;
}

export function levelOf(sigma: number, sigmaToT?: (sigma: number) => number): { sigma: number; t?: number } {
  return sigmaToT ? { sigma, t: sigmaToT(sigma) } : { sigma };
}

export function startSigmaSampler(x: Float32Array, shape: Shape, opts: SigmaSamplerOptions): { xs: Float64Array; sigmas: number[] } {
  checkCommon(x, shape, opts);
  checkSigmas(opts.sigmas);
  return { xs: Float64Array.from(x), sigmas: Array.from(opts.sigmas) };
}
