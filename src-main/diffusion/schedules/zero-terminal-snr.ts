/**
 * Lin, Liu, Li, Yang 2023, "Common diffusion noise schedules and sample steps are flawed", Alg. 1:
 * shift sqrt(alphaBar) so its last value is 0 and rescale so its first value is unchanged.
 *
 * Convention: a terminal alphaBar of exactly 0 makes sigma infinite, which no sigma-space sampler
 * (nor the DDIM x0 <-> eps conversion through the denoiser) can use. Like diffusers'
 * EulerDiscreteScheduler (rescale_betas_zero_snr), we then set the last alphaBar to 2^-24
 * (sigma = 4096, SNR ~ 6e-8), or to half the previous alphaBar when that is smaller (short schedules
 * such as linear betas end with alphaBar_{T-2} < 2^-24), so alphaBar still decreases strictly.
 * Start the sampler at that level from pure noise.
 */
export const ZERO_SNR_ALPHA_BAR = 2 ** -24;

export function rescaleZeroTerminalSnr(alphasCumprod: Float64Array): Float64Array {
  const T = alphasCumprod.length;
  const s = alphasCumprod.map(Math.sqrt);
  const s0 = s[0];
  const sT = s[T - 1];
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const v = ((s[i] - sT) * s0) / (s0 - sT);
    out[i] = v * v;
  }
  out[T - 1] = Math.min(ZERO_SNR_ALPHA_BAR, out[T - 2] / 2);
  return out;
}
