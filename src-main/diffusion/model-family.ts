/**
 * The model family: how a network trained with a given schedule and objective sees noise levels,
 * shared by the trainer (forward process, targets, weights), by sampling (Denoiser adapters) and by
 * the renderer's schedule tuner (loss weights), so they agree by construction. No Node imports.
 *
 * Network time input (fed to the UNet's sinusoidal embedding, which spans periods of 2π to ~6e4):
 * - discrete schedules: the training timestep t in 0..T-1 (Ho et al. 2020);
 * - VP, sub-VP, VE SDEs: 999·t for t in [tMin, 1] (Song et al. 2021's DDPM-style networks);
 * - EDM: 1000·c_noise with c_noise = ln(σ)/4 (Karras et al. 2022, Table 1), scaled the same way so
 *   its range covers hundreds of embedding units like the others.
 */
import type { ScheduleSpec as ScheduleJson } from './process';
import type { Prediction } from './parameterisation';
import {
  continuousCoordinates,
  denoiserFromNetwork,
  discreteCoordinates,
  edmDenoiser,
  edmPreconditioning,
  isDiscrete,
  makeProcess,
  type ContinuousProcess,
  type Denoiser,
  type NetworkFn,
  type Process,
} from './index';

/**
 * What the network predicts (eps, x0, v: Ho 2020 / Salimans & Ho 2022; score: Song 2021; edm:
 * Karras 2022 F). Defined here, with the maths that gives it meaning; api/types.ts re-exports it.
 */
export type Objective = Prediction | 'edm';
/** Per-timestep loss weighting: uniform, min-SNR-gamma (Hang et al. 2023), P2 (Choi et al. 2022). */
export type LossWeighting = 'uniform' | 'min-snr' | 'p2';
/** The fields of a run's configuration (api TrainConfig) that set the loss weight. */
export interface LossWeightSettings {
  objective: Objective;
  weighting: LossWeighting;
  minSnrGamma: number;
  p2K: number;
  p2Gamma: number;
}

export const CONTINUOUS_TIME_SCALE = 999;
export const EDM_NOISE_SCALE = 1000;
/** EDM's training noise distribution ln σ ~ N(P_mean, P_std²) (Karras et al. 2022, Table 1). */
export const EDM_P_MEAN = -1.2;
export const EDM_P_STD = 1.2;

/** One noise level drawn for training. x_in = cIn · (alpha · x0 + sigmaT · eps). */
export interface NoiseDraw {
  /** mean coefficient of the state given x0 */
  alpha: number;
  /** noise std of the state (alpha · σ in k-diffusion terms) */
  sigmaT: number;
  /** extra input scaling (EDM's c_in; 1 otherwise) */
  cIn: number;
  /** what the network's time input receives */
  netTime: number;
  /** EDM: c_skip and c_out of the F target */
  cSkip: number;
  cOut: number;
}

export function processOf(schedule: ScheduleJson): Process {
  return makeProcess(schedule);
}

/**
 * Draw a training noise level from one uniform u in (0, 1) and one standard normal n (EDM only).
 * Discrete: t = floor(u·T) (DDPM Algorithm 1). Continuous: t = tMin + u (1 - tMin) (Song et al.
 * 2021 §4 / App. C, eps = 1e-5). EDM: ln σ = P_mean + P_std · n.
 */
export function drawNoiseLevel(process: Process, schedule: ScheduleJson, u: number, n: number): NoiseDraw {
  if (isDiscrete(process)) {
    const t = Math.min(process.T - 1, Math.floor(u * process.T));
    const ab = process.alphasCumprod[t];
    return { alpha: Math.sqrt(ab), sigmaT: Math.sqrt(1 - ab), cIn: 1, netTime: t, cSkip: 0, cOut: 1 };
  }
  const p = process as ContinuousProcess;
  if (schedule.kind === 'edm') {
    const sigma = Math.exp(EDM_P_MEAN + EDM_P_STD * n);
    const c = edmPreconditioning(sigma, schedule.sigmaData);
    return { alpha: 1, sigmaT: sigma, cIn: c.cIn, netTime: EDM_NOISE_SCALE * c.cNoise, cSkip: c.cSkip, cOut: c.cOut };
  }
  const t = p.tMin + u * (1 - p.tMin);
  return { alpha: p.mean(t), sigmaT: p.std(t), cIn: 1, netTime: CONTINUOUS_TIME_SCALE * t, cSkip: 0, cOut: 1 };
}

/**
 * Regression target of one element for the objective (inverse of the Denoiser adapters):
 * eps; x0; v = alpha·eps - sigmaT·x0 (Salimans & Ho 2022, §4); score = -eps/sigmaT (Song et al.
 * 2021 eq. 7, the score of the Gaussian kernel); EDM F = (x0 - c_skip·x)/c_out with x = x0 + σ·eps
 * (Karras et al. 2022, eq. 8).
 */
export function targetOf(objective: Objective, d: NoiseDraw, x0: number, eps: number): number {
  switch (objective) {
    case 'eps':
      return eps;
    case 'x0':
      return x0;
    case 'v':
      return d.alpha * eps - d.sigmaT * x0;
    case 'score':
      return -eps / d.sigmaT;
    case 'edm':
      return (x0 - d.cSkip * (x0 + d.sigmaT * eps)) / d.cOut;
  }
}

/**
 * Per-sample loss weight. The weightings are defined on the eps-prediction loss and carried to the
 * other objectives through loss_x0 = loss_eps / SNR and loss_v = loss_eps (SNR+1)/SNR... inverted:
 * w_x0 = w_eps·SNR, w_v = w_eps·SNR/(SNR+1), w_score = w_eps·sigmaT² (Hang et al. 2023, §3.4).
 * - uniform: 1 in the objective's own space; for `score` the DSM weight λ(t) = sigmaT² (Song et al.
 *   2021 eq. 7), which makes it the eps loss.
 * - min-SNR-γ: w_eps = min(SNR, γ)/SNR (Hang et al. 2023, eq. 9).
 * - P2: w_eps = 1/(k + SNR)^γ (Choi et al. 2022, eq. 8).
 */
export function lossWeight(c: LossWeightSettings, d: Pick<NoiseDraw, 'alpha' | 'sigmaT'>): number {
  if (c.objective === 'edm') return 1;
  const snr = (d.alpha * d.alpha) / (d.sigmaT * d.sigmaT);
  if (c.weighting === 'uniform') return c.objective === 'score' ? d.sigmaT * d.sigmaT : 1;
  // min(SNR, γ)/SNR written so that SNR = 0 (zero terminal SNR) gives its limit 1.
  const wEps = c.weighting === 'min-snr' ? (snr < c.minSnrGamma ? 1 : c.minSnrGamma / snr) : Math.pow(c.p2K + snr, -c.p2Gamma);
  switch (c.objective) {
    case 'eps':
      return wEps;
    case 'x0':
      return wEps * snr;
    case 'v':
      return (wEps * snr) / (snr + 1);
    case 'score':
      return wEps * d.sigmaT * d.sigmaT;
  }
}

/**
 * The Denoiser (x in the sigma scale -> x0) of a network trained with this schedule and objective.
 * Our models are pixel-space image models whose data lie in [-1, 1], so the x0 estimate is clipped
 * to that range (`clip_denoised` of Ho et al.'s DDPM code, diffusers' clip_sample=True): at high
 * noise an eps/v/score network's x0 = (x - sigma·eps)/… amplifies small errors by sigma (up to ~150
 * on the linear schedule), and an unclipped estimate throws the early steps far outside the data.
 */
export function familyDenoiser(network: NetworkFn, schedule: ScheduleJson, objective: Objective, process = processOf(schedule)): Denoiser {
  return clippedDenoiser(rawFamilyDenoiser(network, schedule, objective, process));
}

/** The family Denoiser without the data-range clip (for tests of the adapters themselves). */
export function rawFamilyDenoiser(network: NetworkFn, schedule: ScheduleJson, objective: Objective, process = processOf(schedule)): Denoiser {
  if (schedule.kind === 'edm') {
    return edmDenoiser((x, shape, cNoise) => network(x, shape, EDM_NOISE_SCALE * cNoise), schedule.sigmaData);
  }
  if (objective === 'edm') throw new Error('objective "edm" needs an EDM schedule');
  if (isDiscrete(process)) return denoiserFromNetwork(network, objective, discreteCoordinates(process));
  const scaled: NetworkFn = (x, shape, t) => network(x, shape, CONTINUOUS_TIME_SCALE * t);
  return denoiserFromNetwork(scaled, objective, continuousCoordinates(process as ContinuousProcess));
}

/** Clamp a Denoiser's x0 estimate to the data range [-1, 1]. */
export function clippedDenoiser(denoiser: Denoiser): Denoiser {
  return async (x, shape, level) => {
    const x0 = await denoiser(x, shape, level);
    for (let i = 0; i < x0.length; i++) x0[i] = x0[i] > 1 ? 1 : x0[i] < -1 ? -1 : x0[i];
    return x0;
  };
}
