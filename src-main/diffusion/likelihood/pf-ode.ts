/**
 * Exact likelihood through the probability-flow ODE (Song et al. 2021 §4.3 and App. D.2; Chen et
 * al. 2018 "Neural ODEs" instantaneous change of variables; Grathwohl et al. 2019 "FFJORD"
 * Hutchinson estimator). In u = log sigma the ODE is dx/du = x - D(x; e^u), so along a path
 *   d/du log p_u(x(u)) = -div(x - D) = -(d - tr dD/dx)
 * and log p_0(x0) ~= log N(x(uMax); 0, priorStd^2 I) + int_{uMin}^{uMax} (d - tr dD/dx) du,
 * starting at x(uMin) = x0 (the data point at sigmaMin). tr dD/dx is estimated per sample with
 * fixed probes v (Rademacher or Gaussian, E[v v^T] = I): tr J ~= mean_p v_p^T J v_p, where J v comes
 * from an exact Jacobian-vector product when given (the oracle has one) or from central finite
 * differences of the denoiser, (D(x + h v) - D(x - h v)) / (2h), h = fdStep sqrt(1 + sigma^2).
 * Results are in nats per sample and bits/dim = nll / (d ln 2).
 */
import type { Denoiser, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { dopri5 } from '../solvers/dopri5';
import { fillNormal, RESERVED_STREAMS, uniforms } from '../rng';
import { LOG_2PI } from '../math';

export type ProbeKind = 'rademacher' | 'gaussian';

/** (dD/dx) v for a batch in the sigma scale. */
export type DenoiserJvp = (x: Float64Array, shape: Shape, sigma: number, v: Float64Array) => Promise<Float64Array>;

export interface PfOdeLikelihoodOptions {
  sigmaMin: number;
  sigmaMax: number;
  /** std of the Gaussian prior at sigmaMax in the sigma scale (process.ts priorStdSigmaScale) */
  priorStd: number;
  probes?: ProbeKind;
  probeCount?: number;
  /** seed of the probes (stream RESERVED_STREAMS.hutchinson) */
  seed?: number;
  rtol?: number;
  atol?: number;
  jvp?: DenoiserJvp;
  fdStep?: number;
  sigmaToT?: (sigma: number) => number;
  signal?: AbortSignal;
  /** after each accepted solver step: the share of the log-sigma range integrated so far, 0..1 */
  onProgress?: (fraction: number) => void;
}

export interface LikelihoodResult {
  /** -log p per sample, nats */
  nll: Float64Array;
  /** mean bits per dimension */
  bitsPerDim: number;
  /** standard error of bitsPerDim over the samples */
  stdErr: number;
  nfe: number;
}

export function summarise(nll: Float64Array, dims: number, nfe: number, offsetBits = 0): LikelihoodResult {
  const n = nll.length;
  const bpd = Array.from(nll, (v) => v / (dims * Math.LN2) + offsetBits);
  const m = bpd.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? bpd.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1) : 0;
  return { nll, bitsPerDim: m, stdErr: Math.sqrt(v / n), nfe };
}

function probesFor(kind: ProbeKind, count: number, size: number, seed: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let p = 0; p < count; p++) {
    const stream = RESERVED_STREAMS.hutchinson + p * 2 ** 20;
    if (kind === 'gaussian') {
      const v = new Float64Array(size);
      fillNormal(v, seed, stream, 0, size, 0);
      out.push(v);
    } else out.push(uniforms(seed, stream, size).map((u) => (u < 0.5 ? -1 : 1)));
  }
  return out;
}

/** NLL of data x0 (n x d, shape [n, ...]) under the model's probability-flow ODE. */
export async function pfOdeLikelihood(denoiser: Denoiser, x0: Float32Array | Float64Array, shape: Shape, opts: PfOdeLikelihoodOptions): Promise<LikelihoodResult> {
  const n = shape[0];
  const size = x0.length;
  if (shape.reduce((a, b) => a * b, 1) !== size) throw new DiffusionConfigError('shape', `shape [${shape.join(', ')}] does not match ${size} values`);
  const d = size / n;
  const { sigmaMin, sigmaMax, priorStd } = opts;
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin)) throw new DiffusionConfigError('sigmaMin', `need 0 < sigmaMin < sigmaMax, got ${sigmaMin} .. ${sigmaMax}`);
  if (!(priorStd > 0)) throw new DiffusionConfigError('priorStd', `priorStd must be > 0, got ${priorStd}`);
  const kind = opts.probes ?? 'rademacher';
  if (kind !== 'rademacher' && kind !== 'gaussian') throw new DiffusionConfigError('probes', `probes must be rademacher or gaussian, got ${String(kind)}`);
  const count = opts.probeCount ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new DiffusionConfigError('probeCount', `probeCount must be an integer >= 1, got ${count}`);
  const probes = probesFor(kind, count, size, opts.seed ?? 0);
  const fdStep = opts.fdStep ?? 1e-3;
  const level = (sigma: number) => (opts.sigmaToT ? { sigma, t: opts.sigmaToT(sigma) } : { sigma });
  const callD = async (x: Float64Array, sigma: number) => {
    const out = await denoiser(Float32Array.from(x), shape, level(sigma));
    if (out.length !== size) throw new DiffusionConfigError('denoiser', `the denoiser returned ${out.length} values, expected ${size}`);
    return out;
  };
  const jvp: DenoiserJvp =
    opts.jvp ??
    (async (x, _shape, sigma, v) => {
      const h = fdStep * Math.sqrt(1 + sigma * sigma);
      const a = await callD(x.map((xi, j) => xi + h * v[j]), sigma);
      const b = await callD(x.map((xi, j) => xi - h * v[j]), sigma);
      return Float64Array.from(a, (ai, j) => (ai - b[j]) / (2 * h));
    });
  // state: [x (size), l (n)] where l accumulates int (d - tr J) du
  const y0 = new Float64Array(size + n);
  y0.set(x0);
  const res = await dopri5(
    async (u, y) => {
      const sigma = Math.exp(u);
      const x = y.subarray(0, size);
      const xd = Float64Array.from(x);
      const D = await callD(xd, sigma);
      const dy = new Float64Array(size + n);
      for (let j = 0; j < size; j++) dy[j] = x[j] - D[j];
      // Hutchinson on div(x - D) = tr(I - J): v^T (v - J v). Same mean as d - v^T J v, but it
      // cancels exactly where J ~ I (low noise), so Gaussian probes keep a small variance.
      for (const v of probes) {
        const jv = await jvp(xd, shape, sigma, v);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = i * d; j < (i + 1) * d; j++) s += v[j] * (v[j] - jv[j]);
          dy[size + i] += s / count;
        }
      }
      return dy;
    },
    y0,
    Math.log(sigmaMin),
    Math.log(sigmaMax),
    {
      rtol: opts.rtol ?? 1e-5,
      atol: opts.atol ?? 1e-5,
      signal: opts.signal,
      ...(opts.onProgress ? { onAccept: (u: number) => opts.onProgress!((u - Math.log(sigmaMin)) / (Math.log(sigmaMax) - Math.log(sigmaMin))) } : {}),
    },
  );
  const nll = new Float64Array(n);
  const p2 = priorStd * priorStd;
  for (let i = 0; i < n; i++) {
    let lp = -0.5 * d * (LOG_2PI + Math.log(p2));
    for (let j = i * d; j < (i + 1) * d; j++) lp -= (res.y[j] * res.y[j]) / (2 * p2);
    nll[i] = -(lp + res.y[size + i]);
  }
  // each RHS evaluation costs 1 denoiser call + (1 exact JVP or 2 calls) per probe
  const perEval = 1 + (opts.jvp ? 0 : 2 * count);
  return summarise(nll, d, res.nfe * perEval);
}
