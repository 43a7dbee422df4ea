/**
 * Beta schedules as diffusers defines them (DDPMScheduler / DDIMScheduler `beta_schedule`), computed in
 * float64 and rounded to float32 like diffusers' torch.float32 betas.
 */
import { DiffusionConfigError } from '../types';
import { linspace, sigmoid, toFloat32Values } from '../math';

function checkRange(betaStart: number, betaEnd: number): void {
  if (!(Number.isFinite(betaStart) && betaStart > 0 && betaStart < 1)) {
    throw new DiffusionConfigError('betaStart', `betaStart must be in (0, 1), got ${betaStart} (DDPM uses 0.0001)`);
  }
  if (!(Number.isFinite(betaEnd) && betaEnd > betaStart && betaEnd < 1)) {
    throw new DiffusionConfigError('betaEnd', `betaEnd must be in (betaStart, 1), got ${betaEnd} (DDPM uses 0.02)`);
  }
}

export function checkTrainSteps(T: number): void {
  if (!(Number.isInteger(T) && T >= 2 && T <= 100000)) {
    throw new DiffusionConfigError('trainSteps', `trainSteps must be an integer in [2, 100000], got ${T} (DDPM uses 1000)`);
  }
}

/** Ho et al. 2020 §4: beta linear from betaStart to betaEnd (diffusers "linear"). */
export function linearBetas(T: number, betaStart = 0.0001, betaEnd = 0.02): Float64Array {
  checkTrainSteps(T);
  checkRange(betaStart, betaEnd);
  return toFloat32Values(linspace(betaStart, betaEnd, T));
}

/** Latent-diffusion "scaled_linear": sqrt(beta) linear, then squared (diffusers). */
export function scaledLinearBetas(T: number, betaStart = 0.00085, betaEnd = 0.012): Float64Array {
  checkTrainSteps(T);
  checkRange(betaStart, betaEnd);
  const r = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), T);
  for (let i = 0; i < T; i++) r[i] = r[i] * r[i];
  return toFloat32Values(r);
}

/**
 * Nichol & Dhariwal 2021 eq. 17: alphaBar(t) = f(t)/f(0), f(t) = cos^2(((t + s)/(1 + s)) pi/2),
 * s = 0.008; beta_i = min(1 - alphaBar((i+1)/T) / alphaBar(i/T), 0.999) (the clip avoids the
 * singularity at t = 1; diffusers betas_for_alpha_bar).
 */
export function cosineBetas(T: number, s = 0.008, maxBeta = 0.999): Float64Array {
  checkTrainSteps(T);
  const f = (t: number) => Math.cos(((t + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) out[i] = Math.min(1 - f((i + 1) / T) / f(i / T), maxBeta);
  return toFloat32Values(out);
}

/** diffusers "sigmoid" (GeoDiff, Xu et al. 2022): sigmoid(linspace(-6, 6, T)) * (end - start) + start. */
export function sigmoidBetas(T: number, betaStart = 0.0001, betaEnd = 0.02): Float64Array {
  checkTrainSteps(T);
  checkRange(betaStart, betaEnd);
  const x = toFloat32Values(linspace(-6, 6, T));
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) out[i] = sigmoid(x[i]) * (betaEnd - betaStart) + betaStart;
  return toFloat32Values(out);
}
