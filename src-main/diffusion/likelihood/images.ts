/**
 * Bits/dim of 8-bit images under a trained model, in batches: what `sfumato eval likelihood`,
 * the dataset outlier finder and the gallery's "how typical" run (jobs/likelihood-job.ts is the
 * process around it). Two estimates of the discrete-data NLL, both upper bounds on it:
 * - 'pf-ode': the probability-flow ODE's exact log-likelihood of uniformly dequantised data
 *   (Song et al. 2021 §4.3 and App. D.2; -log P(k) <= E_u[-log p(k + u)] + d log 128, eight-bit.ts),
 *   with Hutchinson probes and finite-difference JVPs (pf-ode.ts). One dequantisation draw per pixel.
 * - 'vlb': the discrete chain's variational bound with the discretised Gaussian decoder (Ho et al.
 *   2020 eq. 5 and eq. 13; vlb.ts), at every training level of a discrete schedule or `vlbSteps`
 *   log-uniform levels of a continuous one.
 * Each batch gets its own seed (`batchSeed`), so a run is reproducible for (seed, images, batch).
 */
import type { Denoiser } from '../types';
import { DiffusionConfigError } from '../types';
import { isVpType, priorStdSigmaScale, processSigmaToT, sigmaRange, type Process } from '../process';
import { vlbSigmas } from '../bench/likelihood';
import { pfOdeLikelihood8bit, vlbLikelihood8bit } from './eight-bit';

export type LikelihoodMethod = 'pf-ode' | 'vlb' | 'both';

export interface ImageLikelihoodOptions {
  method: LikelihoodMethod;
  /** Hutchinson probes per ODE evaluation (Rademacher) */
  probes: number;
  seed: number;
  /** images per batch (each batch is one ODE solve / one pass over the VLB levels) */
  batch: number;
  /** dopri5 tolerances of the PF-ODE solve */
  rtol: number;
  atol: number;
  /** central-difference step of the JVPs, relative to sqrt(1 + sigma^2) */
  fdStep: number;
  /** VLB levels of a continuous process (a discrete schedule uses all its training levels) */
  vlbSteps: number;
  signal?: AbortSignal;
  /** share of the whole evaluation done, 0..1 */
  onProgress?: (fraction: number) => void;
}

/** Defaults: tolerances looser than the oracle tests' 1e-5, since the JVPs are float32 finite differences. */
export const IMAGE_LIKELIHOOD_DEFAULTS = { probes: 1, batch: 8, rtol: 1e-3, atol: 1e-3, fdStep: 5e-3, vlbSteps: 200 } as const;

export interface MethodEstimate {
  /** mean bits/dim over the images */
  bitsPerDim: number;
  /** standard error of that mean (sample std of the per-image values / sqrt(n)) */
  stdErr: number;
  /** denoiser evaluations per batch, averaged over the batches */
  nfe: number;
  perImage: number[];
  /** 'dequantised': continuous bits/dim of k + u plus 7 bits (a bound on the discrete NLL); 'discrete': the 8-bit bins directly */
  data: 'dequantised' | 'discrete';
}

export interface ImageLikelihood {
  pfOde?: MethodEstimate;
  vlb?: MethodEstimate;
}

/** The seed of batch b: distinct per (seed, b) and below 2^53. */
export function batchSeed(seed: number, b: number): number {
  return seed * 4096 + b;
}

function meanSe(v: number[]): { m: number; se: number } {
  const n = v.length;
  const m = v.reduce((a, x) => a + x, 0) / n;
  const s2 = n > 1 ? v.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1) : 0;
  return { m, se: Math.sqrt(s2 / n) };
}

/**
 * `bytes`: n images, NCHW, 8-bit levels; `chw`: [C, H, W]. Returns the estimates the method asks
 * for, with per-image bits/dim in input order.
 */
export async function imageLikelihood(denoiser: Denoiser, process: Process, bytes: Uint8Array, chw: readonly [number, number, number], opts: ImageLikelihoodOptions): Promise<ImageLikelihood> {
  const per = chw[0] * chw[1] * chw[2];
  if (per <= 0 || bytes.length % per !== 0) throw new DiffusionConfigError('images', `${bytes.length} bytes are not a whole number of ${chw.join('x')} images`);
  const n = bytes.length / per;
  if (n < 1) throw new DiffusionConfigError('n', 'give at least one image');
  if (!(Number.isInteger(opts.batch) && opts.batch >= 1)) throw new DiffusionConfigError('batch', `batch must be an integer >= 1, got ${opts.batch}`);
  const doPf = opts.method !== 'vlb';
  const doVlb = opts.method !== 'pf-ode';
  if (!doPf && !doVlb) throw new DiffusionConfigError('method', `method must be pf-ode, vlb or both, got ${String(opts.method)}`);
  const batches = Math.ceil(n / opts.batch);
  const units = batches * ((doPf ? 1 : 0) + (doVlb ? 1 : 0));
  let unitsDone = 0;
  const report = (f: number) => opts.onProgress?.(Math.min(1, (unitsDone + f) / units));
  const { sigmaMin, sigmaMax } = sigmaRange(process);
  const priorStd = priorStdSigmaScale(process);
  const levels = doVlb ? vlbSigmas(process, opts.vlbSteps) : undefined;
  const pf: number[] = [];
  const vl: number[] = [];
  let pfNfe = 0;
  let vlNfe = 0;
  for (let b = 0; b < batches; b++) {
    const lo = b * opts.batch;
    const hi = Math.min(n, lo + opts.batch);
    const x = bytes.subarray(lo * per, hi * per);
    const shape = [hi - lo, ...chw];
    const seed = batchSeed(opts.seed, b);
    if (doPf) {
      const r = await pfOdeLikelihood8bit(denoiser, x, shape, {
        sigmaMin,
        sigmaMax,
        priorStd,
        probes: 'rademacher',
        probeCount: opts.probes,
        seed,
        rtol: opts.rtol,
        atol: opts.atol,
        fdStep: opts.fdStep,
        sigmaToT: (s) => processSigmaToT(process, s),
        signal: opts.signal,
        onProgress: report,
      });
      pf.push(...Array.from(r.nll, (v) => v / ((per * Math.LN2))));
      pfNfe += r.nfe;
      unitsDone++;
    }
    if (doVlb) {
      const r = await vlbLikelihood8bit(denoiser, x, shape, {
        sigmas: levels!.sigmas,
        t: levels!.t,
        priorStd,
        vpType: isVpType(process),
        variance: 'beta-tilde',
        seed,
        signal: opts.signal,
        onProgress: (d, t) => report(d / t),
      });
      vl.push(...Array.from(r.nll, (v) => v / (per * Math.LN2)));
      vlNfe += r.nfe;
      unitsDone++;
    }
    report(0);
  }
  const out: ImageLikelihood = {};
  if (doPf) {
    const { m, se } = meanSe(pf);
    out.pfOde = { bitsPerDim: m, stdErr: se, nfe: pfNfe / batches, perImage: pf, data: 'dequantised' };
  }
  if (doVlb) {
    const { m, se } = meanSe(vl);
    out.vlb = { bitsPerDim: m, stdErr: se, nfe: vlNfe / batches, perImage: vl, data: 'discrete' };
  }
  return out;
}
