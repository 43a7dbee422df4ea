/**
 * `sfumato bench likelihood`: PF-ODE NLL (Hutchinson, exact oracle JVP) and the discrete-chain VLB
 * of the oracle model on n draws from the mixture, against the exact answer: the closed-form
 * differential entropy when K = 1, else the Monte Carlo mean of -log p over the same draws.
 */
import { GaussianMixture } from '../oracle';
import { isDiscrete, isVpType, makeProcess, priorStdSigmaScale, processSigmaToT, sigmaRange, type Process } from '../process';
import { RESERVED_STREAMS } from '../rng';
import { npLinspace } from '../math';
import { pfOdeLikelihood } from '../likelihood/pf-ode';
import { vlbLikelihood } from '../likelihood/vlb';
import type { LikelihoodBenchSpec } from './spec';

export interface LikelihoodBenchOutput {
  pfOdeBitsPerDim: number;
  pfOdeStdErr: number;
  vlbBitsPerDim: number;
  vlbStdErr: number;
  exactBitsPerDim: number;
  exactMethod: 'closed-form' | 'monte-carlo';
  /** exact -log p on the same draws (paired with the estimates) */
  exactSampleBitsPerDim: number;
  nfe: number;
  vlbNfe: number;
  n: number;
  D: number;
  sigmaMin: number;
  sigmaMax: number;
}

/**
 * Increasing VLB levels: every training timestep for discrete schedules; for continuous processes
 * `steps` levels log-uniform in sigma between sigma(tMin) and sigma(tMax) (a uniform grid in t puts a
 * huge sigma ratio between the first two levels of VP / sub-VP, which makes the bound very loose).
 */
export function vlbSigmas(process: Process, steps: number): { sigmas: number[]; t: number[] } {
  if (isDiscrete(process)) return { sigmas: Array.from(process.sigmas), t: Array.from({ length: process.T }, (_, i) => i) };
  const { sigmaMin, sigmaMax } = sigmaRange(process);
  const s = Array.from(npLinspace(Math.log(sigmaMin), Math.log(sigmaMax), steps), Math.exp);
  return { sigmas: s, t: s.map((v) => process.sigmaToT(v)) };
}

export async function runLikelihoodBench(spec: LikelihoodBenchSpec, opts: { signal?: AbortSignal } = {}): Promise<LikelihoodBenchOutput> {
  const mixture = new GaussianMixture(spec.mixture);
  const process = makeProcess(spec.schedule);
  const { n, seed } = spec;
  const D = mixture.D;
  const shape = [n, D];
  const x = mixture.sample(n, seed, RESERVED_STREAMS.data);
  const { sigmaMin, sigmaMax } = sigmaRange(process);
  const priorStd = priorStdSigmaScale(process);
  const pf = await pfOdeLikelihood(mixture.denoiser(), x, shape, {
    sigmaMin,
    sigmaMax,
    priorStd,
    probes: spec.probes,
    probeCount: spec.probeCount,
    seed,
    rtol: spec.rtol,
    atol: spec.atol,
    jvp: async (xx, _s, sigma, v) => mixture.denoiseJvp64(xx, sigma, v),
    sigmaToT: (s) => processSigmaToT(process, s),
    signal: opts.signal,
  });
  const lv = vlbSigmas(process, spec.vlbSteps);
  const vlb = await vlbLikelihood(mixture.denoiser(), x, shape, {
    sigmas: lv.sigmas,
    t: lv.t,
    priorStd,
    vpType: isVpType(process),
    variance: spec.variance,
    seed,
    signal: opts.signal,
  });
  const lp = mixture.logDensity(x);
  const exactSample = -lp.reduce((a, b) => a + b, 0) / n / (D * Math.LN2);
  const closed = mixture.K === 1;
  return {
    pfOdeBitsPerDim: pf.bitsPerDim,
    pfOdeStdErr: pf.stdErr,
    vlbBitsPerDim: vlb.bitsPerDim,
    vlbStdErr: vlb.stdErr,
    exactBitsPerDim: closed ? mixture.entropyClosedForm() / (D * Math.LN2) : exactSample,
    exactMethod: closed ? 'closed-form' : 'monte-carlo',
    exactSampleBitsPerDim: exactSample,
    nfe: pf.nfe,
    vlbNfe: vlb.nfe,
    n,
    D,
    sigmaMin,
    sigmaMax,
  };
}
