/**
 * Discrete (T training timesteps) variance-preserving schedules: the type and its derived
 * quantities, computed once in float64 from the betas (Ho et al. 2020, "DDPM", eqs. 4, 6, 7).
 *
 * Index convention (diffusers): timestep i in 0..T-1 has beta_i; alphaBar_i = prod_{j<=i}(1 - beta_j),
 * so timestep 0 is already slightly noisy and "alphaBar before step 0" is 1.
 */
import { DiffusionConfigError } from '../types';

export type BetaKind = 'linear' | 'scaled-linear' | 'cosine' | 'sigmoid' | 'custom';

/** The recipe a schedule was built from (stored with runs and gallery records). */
export interface DiscreteScheduleConfig {
  kind: 'discrete';
  beta: BetaKind;
  trainSteps: number;
  betaStart?: number;
  betaEnd?: number;
  /** custom only: [t in [0,1], log-SNR] control points, t strictly increasing from 0 to 1. */
  logSnrPoints?: ReadonlyArray<readonly [number, number]>;
  /** Lin et al. 2023 zero-terminal-SNR rescale (see zero-terminal-snr.ts). */
  zeroTerminalSnr?: boolean;
}

export interface DiscreteSchedule {
  readonly kind: 'discrete';
  /** number of training timesteps */
  readonly T: number;
  readonly config: DiscreteScheduleConfig;
  /** beta_t (float32-representable values, as diffusers stores them) */
  readonly betas: Float64Array;
  /** alpha_t = 1 - beta_t */
  readonly alphas: Float64Array;
  /** alphaBar_t = prod_{s<=t} alpha_s (DDPM eq. 4) */
  readonly alphasCumprod: Float64Array;
  /** alphaBar_{t-1}, with alphaBar_{-1} = 1 */
  readonly alphasCumprodPrev: Float64Array;
  /** k-diffusion sigma_t = sqrt((1 - alphaBar_t) / alphaBar_t) (increasing in t) */
  readonly sigmas: Float64Array;
  /** log sigma_t, for sigma -> t interpolation */
  readonly logSigmas: Float64Array;
  /** log-SNR lambda_t = log(alphaBar_t / (1 - alphaBar_t)) = -2 log sigma_t */
  readonly logSnr: Float64Array;
  /** posterior q(x_{t-1} | x_t, x0) mean = coef1 * x0 + coef2 * x_t (DDPM eq. 7) */
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;
  /** beta-tilde_t = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t) (DDPM eq. 7); 0 at t = 0 */
  readonly posteriorVariance: Float64Array;
  /** log beta-tilde with the t = 0 entry replaced by t = 1's (it is 0, log would be -inf), as in DDPM's code */
  readonly posteriorLogVarianceClipped: Float64Array;
}

/** Build every derived quantity from the betas (float64 throughout). */
export function discreteScheduleFromBetas(betasIn: ArrayLike<number>, config: DiscreteScheduleConfig): DiscreteSchedule {
  const T = betasIn.length;
  if (T < 2) throw new DiffusionConfigError('trainSteps', `a discrete schedule needs at least 2 timesteps, got ${T}`);
  const betas = Float64Array.from(betasIn);
  for (let i = 0; i < T; i++) {
    if (!(betas[i] > 0 && betas[i] <= 1)) {
      throw new DiffusionConfigError('betas', `beta[${i}] = ${betas[i]} is outside (0, 1]; check betaStart/betaEnd`);
    }
  }
  const alphas = new Float64Array(T);
  const alphasCumprod = new Float64Array(T);
  const alphasCumprodPrev = new Float64Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    alphas[i] = 1 - betas[i];
    alphasCumprodPrev[i] = prod;
    prod *= alphas[i];
    alphasCumprod[i] = prod;
  }
  return deriveFromAlphasCumprod(betas, alphas, alphasCumprod, alphasCumprodPrev, config);
}

function deriveFromAlphasCumprod(
  betas: Float64Array,
  alphas: Float64Array,
  alphasCumprod: Float64Array,
  alphasCumprodPrev: Float64Array,
  config: DiscreteScheduleConfig,
): DiscreteSchedule {
  const T = betas.length;
  const sigmas = new Float64Array(T);
  const logSigmas = new Float64Array(T);
  const logSnr = new Float64Array(T);
  const c1 = new Float64Array(T);
  const c2 = new Float64Array(T);
  const pv = new Float64Array(T);
  const plv = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const ab = alphasCumprod[i];
    const abPrev = alphasCumprodPrev[i];
    sigmas[i] = Math.sqrt((1 - ab) / ab);
    logSigmas[i] = Math.log(sigmas[i]);
    logSnr[i] = Math.log(ab) - Math.log1p(-ab);
    c1[i] = (betas[i] * Math.sqrt(abPrev)) / (1 - ab);
    c2[i] = ((1 - abPrev) * Math.sqrt(alphas[i])) / (1 - ab);
    pv[i] = (betas[i] * (1 - abPrev)) / (1 - ab);
  }
  for (let i = 0; i < T; i++) plv[i] = Math.log(i === 0 ? pv[1] : pv[i]);
  for (let i = 1; i < T; i++) {
    if (!(sigmas[i] > sigmas[i - 1])) {
      throw new DiffusionConfigError('betas', `alphaBar must decrease strictly; it does not at timestep ${i}`);
    }
  }
  return {
    kind: 'discrete',
    T,
    config,
    betas,
    alphas,
    alphasCumprod,
    alphasCumprodPrev,
    sigmas,
    logSigmas,
    logSnr,
    posteriorMeanCoef1: c1,
    posteriorMeanCoef2: c2,
    posteriorVariance: pv,
    posteriorLogVarianceClipped: plv,
  };
}

/** Build a schedule from alphaBar directly (custom log-SNR schedules, rescaling); betas follow. */
export function discreteScheduleFromAlphasCumprod(abIn: ArrayLike<number>, config: DiscreteScheduleConfig): DiscreteSchedule {
  const T = abIn.length;
  const ab = Float64Array.from(abIn);
  const betas = new Float64Array(T);
  const alphas = new Float64Array(T);
  const abPrev = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    if (!(ab[i] > 0 && ab[i] < 1)) throw new DiffusionConfigError('alphasCumprod', `alphaBar[${i}] = ${ab[i]} must be in (0, 1)`);
    abPrev[i] = i === 0 ? 1 : ab[i - 1];
    alphas[i] = ab[i] / abPrev[i];
    betas[i] = 1 - alphas[i];
    if (!(betas[i] > 0)) throw new DiffusionConfigError('alphasCumprod', `alphaBar must decrease strictly; it does not at timestep ${i}`);
  }
  return deriveFromAlphasCumprod(betas, alphas, ab, abPrev, config);
}

/**
 * Continuous (fractional) timestep for a sigma: linear interpolation of log sigma over the
 * schedule's log sigmas (k-diffusion DiscreteSchedule.sigma_to_t), clamped to [0, T-1].
 */
export function sigmaToT(schedule: DiscreteSchedule, sigma: number): number {
  const ls = schedule.logSigmas;
  const T = schedule.T;
  if (!(sigma > 0)) return 0;
  const l = Math.log(sigma);
  if (l <= ls[0]) return 0;
  if (l >= ls[T - 1]) return T - 1;
  let lo = 0;
  let hi = T - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ls[mid] <= l) lo = mid;
    else hi = mid;
  }
  const w = (l - ls[lo]) / (ls[hi] - ls[lo]);
  return lo + w;
}

/** sigma at a (possibly fractional) timestep: interpolation of log sigma (k-diffusion t_to_sigma). */
export function tToSigma(schedule: DiscreteSchedule, t: number): number {
  const T = schedule.T;
  if (!(t >= 0 && t <= T - 1)) throw new DiffusionConfigError('t', `timestep ${t} is outside [0, ${T - 1}]`);
  const lo = Math.min(Math.floor(t), T - 2);
  const w = t - lo;
  return Math.exp((1 - w) * schedule.logSigmas[lo] + w * schedule.logSigmas[lo + 1]);
}

/** alphaBar for a k-diffusion sigma: 1 / (1 + sigma^2). */
export function sigmaToAlphaBar(sigma: number): number {
  return 1 / (1 + sigma * sigma);
}

/** k-diffusion sigma for an alphaBar. */
export function alphaBarToSigma(alphaBar: number): number {
  return Math.sqrt((1 - alphaBar) / alphaBar);
}
