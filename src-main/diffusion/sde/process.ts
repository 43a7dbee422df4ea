/**
 * Continuous-time diffusion processes (Song et al. 2021, "Score-based generative modeling through
 * SDEs", §3.4 and App. B; Karras et al. 2022 "EDM" §2). Every process here has a linear drift, so
 *   dx = f(t) x dt + g(t) dw,   x_t = s(t) x0 + s(t) sigma(t) eps
 * with mean coefficient s(t) and k-diffusion sigma(t) = std(t) / s(t) (EDM eq. 10/11).
 * The samplers work in the sigma scale x_sigma = x_t / s(t).
 */
import { DiffusionConfigError } from '../types';

export type ProcessKind = 'vp' | 'subvp' | 've' | 'edm';

export interface ContinuousProcess {
  readonly kind: ProcessKind;
  /** smallest time used for sampling / likelihood (Song et al. use 1e-5 for VP/sub-VP/VE; EDM: sigmaMin) */
  readonly tMin: number;
  /** largest time (1, or sigmaMax for EDM where t = sigma) */
  readonly tMax: number;
  /** true for processes whose state is a VP rescaling (ddpm / ddim allowed, alphaBar defined) */
  readonly vpType: boolean;
  /** s(t), the mean coefficient of x_t given x0 */
  mean(t: number): number;
  /** std(t) of x_t given x0 */
  std(t: number): number;
  /** k-diffusion sigma(t) = std / mean */
  sigma(t: number): number;
  /** inverse of sigma(t) */
  sigmaToT(sigma: number): number;
  /** network input scale for a sigma (mean coefficient at sigmaToT(sigma)) */
  inputScale(sigma: number): number;
  /** drift coefficient f(t) (drift = f(t) x) */
  drift(t: number): number;
  /** diffusion coefficient g(t) */
  diffusion(t: number): number;
  /** std of the prior p_T in the process's own scale (Song: VP/sub-VP N(0, I), VE N(0, sigmaMax^2)) */
  readonly priorStd: number;
  /** alphaBar(t) = 1 / (1 + sigma(t)^2) for VP-type processes (undefined otherwise) */
  alphaBar?(t: number): number;
  /** the recipe */
  readonly config: Readonly<Record<string, number | string>>;
}

/** Prior std in the sigma scale at the start of sampling: priorStd / s(tMax). */
export function priorSigmaScaleStd(p: ContinuousProcess): number {
  return p.priorStd / p.mean(p.tMax);
}

export function checkPositive(field: string, v: number, hint: string): void {
  if (!(Number.isFinite(v) && v > 0)) throw new DiffusionConfigError(field, `${field} must be a finite number > 0, got ${v}; ${hint}`);
}
