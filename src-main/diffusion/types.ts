/**
 * Shared vocabulary of the diffusion core. Pure TypeScript: nothing here (or anywhere under
 * src-main/diffusion/) imports tfjs, ONNX Runtime or Node modules, so the trainer, the ONNX
 * sampler, the CLI bench and the renderer's plots all use the same maths.
 *
 * Conventions (k-diffusion's, Karras et al. 2022 "EDM" §2):
 * - Arrays are flat Float32Array in row-major order. Image batches are NCHW: [B, C, H, W].
 * - The noise level of a state is the k-diffusion sigma: x = x0 + sigma * eps ("sigma scale").
 *   For a variance-preserving (VP) process x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, and
 *   sigma = sqrt((1 - abar) / abar), x_sigma = x_t / sqrt(abar).
 * - A Denoiser ALWAYS receives x in the sigma scale and returns its estimate of x0 (D(x; sigma)
 *   in EDM eq. 2). Model families (eps, x0, v, score, EDM-preconditioned) become Denoisers through
 *   adapters in parameterisation.ts, which also rescale the input to what the network was trained on.
 * - `t` is the model's own time coordinate when the sampler knows it exactly: the (possibly
 *   fractional) training timestep 0..T-1 for discrete schedules, or continuous time in [0, 1] for
 *   SDEs. Adapters of discrete models use `t` when given and otherwise invert sigma -> t.
 */

export type Shape = readonly number[];

export interface NoiseLevel {
  /** k-diffusion sigma (std of the noise in the sigma scale). */
  sigma: number;
  /** model time coordinate, when known exactly (see header). */
  t?: number;
}

/** Async because ONNX Runtime runs are. Must not modify `x`. */
export type Denoiser = (x: Float32Array, shape: Shape, level: NoiseLevel) => Promise<Float32Array>;

/** Progress callback payload, the same fields for every sampler. */
export interface StepInfo {
  /** 0-based index of the step just completed. */
  i: number;
  /** total number of steps the sampler will take (for adaptive solvers: so far). */
  total: number;
  /** noise level at the START of this step. */
  sigma: number;
  /** model time at the start of this step, when defined. */
  t?: number;
  /** current state after the step (in the sampler's working space). */
  x: Float32Array;
  /** the denoiser's x0 estimate used by this step (feeds live previews). */
  x0Pred: Float32Array;
}

/**
 * Source of standard-normal noise for a batch. Implementations are counter-based and seeded
 * (see rng.ts), so the same seeds give the same numbers on every machine and backend.
 */
export interface BatchNoise {
  /** starting noise for the whole batch, length B*C*H*W. */
  initial(): Float32Array;
  /** fresh noise for stochastic step `step` (ancestral draw, churn, Langevin corrector...). `draw` distinguishes several draws in one step. */
  step(step: number, draw?: number): Float32Array;
}

export interface SamplerCommon {
  noise: BatchNoise;
  onStep?: (info: StepInfo) => void | Promise<void>;
  signal?: AbortSignal;
}

export class DiffusionConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'DiffusionConfigError';
  }
}
