/**
 * Variational bound of the discrete chain (Ho et al. 2020 eq. 5; Sohl-Dickstein et al. 2015),
 * computed in the sigma scale (KL divergences are invariant to the per-level rescaling between
 * VP and sigma scales). Levels 0 < sigma_1 < ... < sigma_N, sigma_0 = 0 (the data):
 *   L_N     = KL(q(x_N | x0) || N(0, priorStd^2))                            q(x_j | x0) = N(x0, sigma_j^2)
 *   L_{j-1} = KL(q(x_{j-1} | x_j, x0) || p(x_{j-1} | x_j)), j = 2..N
 *             q: mean x0 + g (x_j - x0), g = sigma_{j-1}^2 / sigma_j^2, var sigma_{j-1}^2 (1 - g)
 *             p: same mean with x0 -> D(x_j; sigma_j), var = the posterior's ('beta-tilde') or the
 *                forward step's ('beta': VP beta_j / alphaBar_{j-1}, VE sigma_j^2 - sigma_{j-1}^2)
 *   L_0     = -log p(x0 | x_1): Gaussian decoder N(D(x_1; sigma_1), v_1) with v_1 the forward
 *             variance of the first step (Ho's sigma_1^2 = beta_1), or on 8-bit data the
 *             discretised Gaussian of Ho et al. eq. 13 over 256 bins of width 2/255 on [-1, 1].
 * One x_j ~ q(x_j | x0) per term (an unbiased estimate of the bound). Draws: normal(seed,
 * RESERVED_STREAMS.data + 1 + j, ...) for level j.
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { AbortError } from '../samplers/common';
import { fillNormal, RESERVED_STREAMS } from '../rng';
import { LOG_2PI, logNormalCdf } from '../math';
import { summarise, type LikelihoodResult } from './pf-ode';

export interface VlbOptions {
  /** increasing noise levels sigma_1 < ... < sigma_N (> 0) */
  sigmas: ArrayLike<number>;
  priorStd: number;
  /** VP-type chain: 'beta' variance uses the VP step; otherwise the VE step */
  vpType: boolean;
  variance?: 'beta-tilde' | 'beta';
  /** model times for the levels (passed to the denoiser), same length as sigmas */
  t?: ArrayLike<number>;
  seed?: number;
  /** data are 8-bit levels mapped to [-1, 1] by 2k/255 - 1: use the discretised decoder */
  discrete8bit?: boolean;
  signal?: AbortSignal;
  /** after each denoiser call: how many of the N levels are done */
  onProgress?: (done: number, total: number) => void;
}

function forwardVar(vpType: boolean, sPrev: number, s: number): number {
  if (!vpType) return s * s - sPrev * sPrev;
  // VP step from level j-1 to j: beta_j = 1 - abar_j / abar_{j-1}; in the sigma scale of x_{j-1}: beta_j / abar_{j-1}
  const abPrev = 1 / (1 + sPrev * sPrev);
  const ab = 1 / (1 + s * s);
  return (1 - ab / abPrev) / abPrev;
}

/** log of the probability of bin x (Ho et al. eq. 13) under N(mean, std^2), for x in {2k/255 - 1}. */
export function discretisedGaussianLogProb(x: number, mean: number, std: number): number {
  const half = 1 / 255;
  const up = (x + half - mean) / std;
  const lo = (x - half - mean) / std;
  if (x < -0.999) return logNormalCdf(up);
  if (x > 0.999) return logNormalCdf(-lo);
  // log(Phi(up) - Phi(lo)), stably on whichever tail the bin lies
  if (lo > 0) {
    const a = logNormalCdf(-lo);
    const b = logNormalCdf(-up);
    return a + Math.log(-Math.expm1(b - a));
  }
  const a = logNormalCdf(up);
  const b = logNormalCdf(lo);
  return a + Math.log(-Math.expm1(b - a));
}

export async function vlbLikelihood(denoiser: Denoiser, x0In: Float32Array | Float64Array, shape: Shape, opts: VlbOptions): Promise<LikelihoodResult> {
  const sig = Array.from(opts.sigmas);
  const N = sig.length;
  if (N < 1) throw new DiffusionConfigError('sigmas', 'the VLB needs at least one noise level');
  for (let j = 0; j < N; j++) {
    if (!(sig[j] > 0 && Number.isFinite(sig[j])) || (j > 0 && !(sig[j] > sig[j - 1]))) {
      throw new DiffusionConfigError('sigmas', `VLB levels must be finite, > 0 and strictly increasing; entry ${j} = ${sig[j]} is not`);
    }
  }
  const variance = opts.variance ?? 'beta-tilde';
  const n = shape[0];
  const size = x0In.length;
  const d = size / n;
  const x0 = Float64Array.from(x0In);
  const seed = opts.seed ?? 0;
  const nll = new Float64Array(n);
  const eps = new Float64Array(size);
  const level = (j: number) => (opts.t ? { sigma: sig[j], t: opts.t[j] } : { sigma: sig[j] });
  const sampleAt = (j: number) => {
    fillNormal(eps, seed, RESERVED_STREAMS.data + 1 + j, 0, size, 0);
    return Float32Array.from(x0, (v, k) => v + sig[j] * eps[k]);
  };
  // prior term L_N (closed form in x0)
  const P2 = opts.priorStd ** 2;
  const sN2 = sig[N - 1] ** 2;
  for (let i = 0; i < n; i++) {
    let kl = 0;
    for (let k = i * d; k < (i + 1) * d; k++) kl += 0.5 * (Math.log(P2 / sN2) + (sN2 + x0[k] * x0[k]) / P2 - 1);
    nll[i] += kl;
  }
  // L_{j-1}, j = N..2 (0-based: level j -> level j-1)
  for (let j = N - 1; j >= 1; j--) {
    if (opts.signal?.aborted) {
      throw new AbortError('likelihood was cancelled');
    }
    const xj = sampleAt(j);
    const D = await denoiser(xj, shape, level(j));
    const g = (sig[j - 1] / sig[j]) ** 2;
    const vPost = sig[j - 1] ** 2 * (1 - g);
    const vModel = variance === 'beta' ? forwardVar(opts.vpType, sig[j - 1], sig[j]) : vPost;
    const c = 0.5 * (Math.log(vModel / vPost) + vPost / vModel - 1);
    for (let i = 0; i < n; i++) {
      let kl = c * d;
      for (let k = i * d; k < (i + 1) * d; k++) {
        const dm = (1 - g) * (x0[k] - D[k]);
        kl += (dm * dm) / (2 * vModel);
      }
      nll[i] += kl;
    }
    opts.onProgress?.(N - j, N);
  }
  // decoder L_0
  const x1 = sampleAt(0);
  const D1 = await denoiser(x1, shape, level(0));
  const vDec = forwardVar(opts.vpType, 0, sig[0]);
  const sd = Math.sqrt(vDec);
  for (let i = 0; i < n; i++) {
    let lp = 0;
    for (let k = i * d; k < (i + 1) * d; k++) {
      if (opts.discrete8bit) lp += discretisedGaussianLogProb(x0[k], D1[k], sd);
      else lp += -0.5 * (LOG_2PI + Math.log(vDec) + (x0[k] - D1[k]) ** 2 / vDec);
    }
    nll[i] -= lp;
  }
  opts.onProgress?.(N, N);
  return summarise(nll, d, N);
}
