/**
 * Analytic oracle: a mixture of K diagonal Gaussians in D dimensions,
 *   p0(x) = sum_k w_k N(x; mu_k, diag(s_k^2)).
 * Noising in the sigma scale (x = x0 + sigma eps) keeps it a mixture with variances s_k^2 + sigma^2,
 * so everything is exact (Karras et al. 2022 §2 for the sigma view; Song et al. 2021 eq. 29–33 for
 * the processes):
 *   p_sigma(x)  = sum_k w_k N(x; mu_k, s_k^2 + sigma^2)
 *   D(x; sigma) = E[x0 | x] = sum_k r_k(x) (mu_k + s_k^2 / (s_k^2 + sigma^2) (x - mu_k)),  r_k = posterior weights
 *   score_sigma = grad log p_sigma(x) = (D - x) / sigma^2   (Tweedie / EDM eq. 3)
 * A process with mean coefficient s(t) and k-diffusion sigma(t) has x_t = s x_sigma, so
 *   eps(x_t, t) = (x - D) / sigma,  score_t(x_t) = score_sigma / s,  log p_t(x_t) = log p_sigma(x_t / s) - D log s.
 * Rows are samples: arrays are n x D row-major.
 */
import type { Denoiser, Shape } from './types';
import { DiffusionConfigError } from './types';
import { fillNormal, RESERVED_STREAMS, uniforms } from './rng';
import { LOG_2PI } from './math';

const COMPONENT_STREAM_OFFSET = 2 ** 45;

export interface MixtureSpec {
  weights: number[];
  means: number[][];
  stds: number[][];
}

export function validateMixture(m: unknown, field = 'mixture'): MixtureSpec {
  const o = m as Partial<MixtureSpec> | null;
  if (!o || typeof o !== 'object') throw new DiffusionConfigError(field, `${field} must be an object {weights, means, stds}`);
  const { weights, means, stds } = o;
  if (!Array.isArray(weights) || weights.length < 1) throw new DiffusionConfigError(`${field}.weights`, `${field}.weights must be a non-empty array of K numbers`);
  const K = weights.length;
  let sum = 0;
  weights.forEach((w, k) => {
    if (!Number.isFinite(w) || w <= 0) throw new DiffusionConfigError(`${field}.weights[${k}]`, `weights must be finite and > 0, got ${w}`);
    sum += w;
  });
  if (Math.abs(sum - 1) > 1e-6) {
    throw new DiffusionConfigError(`${field}.weights`, `weights must sum to 1 (they sum to ${sum}); divide each by ${sum}`);
  }
  if (!Array.isArray(means) || means.length !== K) throw new DiffusionConfigError(`${field}.means`, `${field}.means must hold K = ${K} vectors (one per weight)`);
  if (!Array.isArray(stds) || stds.length !== K) throw new DiffusionConfigError(`${field}.stds`, `${field}.stds must hold K = ${K} vectors (one per weight)`);
  const D = Array.isArray(means[0]) ? means[0].length : 0;
  if (D < 1) throw new DiffusionConfigError(`${field}.means[0]`, 'means must be non-empty vectors of D numbers');
  for (let k = 0; k < K; k++) {
    if (!Array.isArray(means[k]) || means[k].length !== D) throw new DiffusionConfigError(`${field}.means[${k}]`, `every mean must have D = ${D} numbers`);
    if (!Array.isArray(stds[k]) || stds[k].length !== D) throw new DiffusionConfigError(`${field}.stds[${k}]`, `every std vector must have D = ${D} numbers`);
    for (let d = 0; d < D; d++) {
      if (!Number.isFinite(means[k][d])) throw new DiffusionConfigError(`${field}.means[${k}][${d}]`, `means must be finite numbers, got ${means[k][d]}`);
      const s = stds[k][d];
      if (!Number.isFinite(s) || s <= 0) throw new DiffusionConfigError(`${field}.stds[${k}][${d}]`, `stds must be finite and > 0, got ${s}; use a positive standard deviation`);
    }
  }
  return { weights: [...weights], means: means.map((r) => [...r]), stds: stds.map((r) => [...r]) };
}

export class GaussianMixture {
  readonly K: number;
  readonly D: number;
  readonly weights: Float64Array;
  readonly logWeights: Float64Array;
  /** K x D */
  readonly means: Float64Array;
  /** K x D variances s^2 */
  readonly vars: Float64Array;

  constructor(spec: MixtureSpec) {
    const m = validateMixture(spec);
    this.K = m.weights.length;
    this.D = m.means[0].length;
    this.weights = Float64Array.from(m.weights);
    this.logWeights = this.weights.map(Math.log);
    this.means = Float64Array.from(m.means.flat());
    this.vars = Float64Array.from(m.stds.flat().map((s) => s * s));
  }

  /** Posterior log-weights log w_k + log N(x; mu_k, s_k^2 + sigma^2) for one row (unnormalised). */
  private componentLogLik(x: ArrayLike<number>, off: number, sigma2: number, out: Float64Array): void {
    const { K, D } = this;
    for (let k = 0; k < K; k++) {
      let l = this.logWeights[k];
      for (let d = 0; d < D; d++) {
        const v = this.vars[k * D + d] + sigma2;
        const r = x[off + d] - this.means[k * D + d];
        l -= 0.5 * (LOG_2PI + Math.log(v) + (r * r) / v);
      }
      out[k] = l;
    }
  }

  private responsibilities(x: ArrayLike<number>, off: number, sigma2: number, r: Float64Array): number {
    this.componentLogLik(x, off, sigma2, r);
    let m = -Infinity;
    for (let k = 0; k < this.K; k++) if (r[k] > m) m = r[k];
    let s = 0;
    for (let k = 0; k < this.K; k++) {
      r[k] = Math.exp(r[k] - m);
      s += r[k];
    }
    for (let k = 0; k < this.K; k++) r[k] /= s;
    return m + Math.log(s);
  }

  private rows(x: ArrayLike<number>): number {
    if (x.length % this.D !== 0) throw new DiffusionConfigError('x', `x has ${x.length} values, not a multiple of D = ${this.D}`);
    return x.length / this.D;
  }

  /** Exact D(x; sigma) = E[x0 | x0 + sigma eps = x], float64. */
  denoise64(x: ArrayLike<number>, sigma: number): Float64Array {
    const { K, D } = this;
    const n = this.rows(x);
    const s2 = sigma * sigma;
    const out = new Float64Array(x.length);
    const r = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      const off = i * D;
      this.responsibilities(x, off, s2, r);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const v = this.vars[k * D + d];
          const mu = this.means[k * D + d];
          acc += r[k] * (mu + (v / (v + s2)) * (x[off + d] - mu));
        }
        out[off + d] = acc;
      }
    }
    return out;
  }

  /**
   * Jacobian-vector product of the denoiser, (dD/dx) v, exact (for Hutchinson traces):
   * dD_d/dx_e = sum_k r_k c_kd delta_de + sum_k r_k m_kd (g_ke - gbar_e),
   * with c_kd = s_kd^2/(s_kd^2+sigma^2), m_kd the component mean of x0, g_ke = -(x_e - mu_ke)/(s_ke^2+sigma^2).
   */
  denoiseJvp64(x: ArrayLike<number>, sigma: number, vec: ArrayLike<number>): Float64Array {
    const { K, D } = this;
    const n = this.rows(x);
    const s2 = sigma * sigma;
    const out = new Float64Array(x.length);
    const r = new Float64Array(K);
    const gv = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      const off = i * D;
      this.responsibilities(x, off, s2, r);
      let gbar = 0;
      for (let k = 0; k < K; k++) {
        let g = 0;
        for (let e = 0; e < D; e++) {
          const v = this.vars[k * D + e] + s2;
          g -= ((x[off + e] - this.means[k * D + e]) / v) * vec[off + e];
        }
        gv[k] = g;
        gbar += r[k] * g;
      }
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const v = this.vars[k * D + d];
          const mu = this.means[k * D + d];
          const c = v / (v + s2);
          const m = mu + c * (x[off + d] - mu);
          acc += r[k] * (c * vec[off + d] + m * (gv[k] - gbar));
        }
        out[off + d] = acc;
      }
    }
    return out;
  }

  /** The exact denoiser as a `Denoiser` (sigma scale in, x0 out). */
  denoiser(): Denoiser {
    return async (x: Float32Array, _shape: Shape, level) => Float32Array.from(this.denoise64(x, level.sigma));
  }

  /** log p_sigma(x) per row (sigma = 0: the data density). */
  logDensity(x: ArrayLike<number>, sigma = 0): Float64Array {
    const n = this.rows(x);
    const r = new Float64Array(this.K);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.responsibilities(x, i * this.D, sigma * sigma, r);
    return out;
  }

  /** grad log p_sigma(x) in the sigma scale = (D - x)/sigma^2 (for sigma = 0, computed directly). */
  score64(x: ArrayLike<number>, sigma: number): Float64Array {
    const { K, D } = this;
    const n = this.rows(x);
    const s2 = sigma * sigma;
    const out = new Float64Array(x.length);
    const r = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      const off = i * D;
      this.responsibilities(x, off, s2, r);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc -= (r[k] * (x[off + d] - this.means[k * D + d])) / (this.vars[k * D + d] + s2);
        out[off + d] = acc;
      }
    }
    return out;
  }

  /** Exact eps for a state x_t = s (x0 + sigma eps): eps = (x - D(x)) / sigma with x = x_t / s. */
  eps64(xt: ArrayLike<number>, sigma: number, s: number): Float64Array {
    const x = Float64Array.from(xt, (v) => v / s);
    const d = this.denoise64(x, sigma);
    for (let i = 0; i < x.length; i++) d[i] = (x[i] - d[i]) / sigma;
    return d;
  }

  /** Exact score of p_t at x_t = s x_sigma: score_sigma(x_t / s) / s. */
  scoreXt64(xt: ArrayLike<number>, sigma: number, s: number): Float64Array {
    const x = Float64Array.from(xt, (v) => v / s);
    const g = this.score64(x, sigma);
    for (let i = 0; i < g.length; i++) g[i] /= s;
    return g;
  }

  /** log p_t(x_t) of a process state x_t = s x_sigma. */
  logDensityXt(xt: ArrayLike<number>, sigma: number, s: number): Float64Array {
    const x = Float64Array.from(xt, (v) => v / s);
    const l = this.logDensity(x, sigma);
    const c = this.D * Math.log(s);
    return l.map((v) => v - c);
  }

  /** Mean and per-dimension variance of the data distribution. */
  moments(): { mean: Float64Array; variance: Float64Array } {
    const { K, D } = this;
    const mean = new Float64Array(D);
    const second = new Float64Array(D);
    for (let k = 0; k < K; k++) {
      for (let d = 0; d < D; d++) {
        const mu = this.means[k * D + d];
        mean[d] += this.weights[k] * mu;
        second[d] += this.weights[k] * (this.vars[k * D + d] + mu * mu);
      }
    }
    return { mean, variance: second.map((s, d) => s - mean[d] * mean[d]) };
  }

  /** Differential entropy in nats (closed form for K = 1). */
  entropyClosedForm(): number {
    if (this.K !== 1) throw new DiffusionConfigError('mixture', 'the closed-form entropy exists only for K = 1; use a Monte Carlo estimate');
    let h = 0;
    for (let d = 0; d < this.D; d++) h += 0.5 * (LOG_2PI + 1 + Math.log(this.vars[d]));
    return h;
  }

  /**
   * n seeded draws: row i takes its component from uniforms(seed, stream + 2^45, i) and its
   * normals from normal(seed, stream, i*D + d). Deterministic on every machine.
   */
  sample(n: number, seed: number, stream: number = RESERVED_STREAMS.data): Float32Array {
    const { K, D } = this;
    const u = uniforms(seed, stream + COMPONENT_STREAM_OFFSET, n);
    const z = new Float64Array(n * D);
    fillNormal(z, seed, stream, 0, n * D, 0);
    const out = new Float32Array(n * D);
    const cdf = new Float64Array(K);
    let acc = 0;
    for (let k = 0; k < K; k++) cdf[k] = acc += this.weights[k];
    for (let i = 0; i < n; i++) {
      let k = 0;
      while (k < K - 1 && u[i] * acc > cdf[k]) k++;
      for (let d = 0; d < D; d++) out[i * D + d] = this.means[k * D + d] + Math.sqrt(this.vars[k * D + d]) * z[i * D + d];
    }
    return out;
  }
}
