/**
 * Probability-flow ODE sampler with adaptive RK45 (Song et al. 2021 §4.3 "black-box ODE solver",
 * Dormand–Prince as scipy's RK45). In the sigma scale the ODE is dx/dsigma = (x - D(x; sigma)) / sigma
 * (Karras et al. 2022 eq. 4); we integrate it in u = log sigma, dx/du = x - D(x; e^u), which is
 * smooth over the whole range, from sigmaMax to sigmaMin, then take the final step to sigma = 0 as
 * D(x; sigmaMin) (one extra evaluation; Song et al.'s "denoise" step).
 * The step size is shared by the whole batch (one noise level per denoiser call), so an image's
 * path depends weakly on its batch through the error norm.
 */
import type { Denoiser, SamplerCommon, Shape } from '../types';
import { DiffusionConfigError } from '../types';
import { checkCommon, denoise, f32, levelOf, report } from './common';
import { dopri5 } from '../solvers/dopri5';
import { defineSampler } from './descriptor';
import { SIGMA_OPTIONS } from './options';
import { continuousPreferred } from './fit';
import { plannedSigmas } from './plan';
import { sigmaRange } from '../process';

export interface PfOdeOptions extends SamplerCommon {
  sigmaMax: number;
  sigmaMin: number;
  rtol?: number;
  atol?: number;
  sigmaToT?: (sigma: number) => number;
  /** filled with the accepted sigmas (start to end, then 0) and the NFE */
  record?: { sigmas?: number[]; nfe?: number };
}

export async function pfOde(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: PfOdeOptions): Promise<Float32Array> {
  checkCommon(x, shape, opts);
  const { sigmaMax, sigmaMin } = opts;
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin && Number.isFinite(sigmaMax))) {
    throw new DiffusionConfigError('sigmaMin', `pf-ode needs 0 < sigmaMin < sigmaMax, got ${sigmaMin} .. ${sigmaMax}`);
  }
  let lastX0: Float32Array = new Float32Array(x.length);
  let lastSigma = sigmaMax;
  const res = await dopri5(
    async (u, y) => {
      const sigma = Math.exp(u);
      const x0 = await denoise(denoiser, y, shape, levelOf(sigma, opts.sigmaToT));
      lastX0 = x0;
      const d = new Float64Array(y.length);
      for (let j = 0; j < y.length; j++) d[j] = y[j] - x0[j];
      return d;
    },
    Float64Array.from(x),
    Math.log(sigmaMax),
    Math.log(sigmaMin),
    {
      rtol: opts.rtol,
      atol: opts.atol,
      signal: opts.signal,
      onAccept: async (u, y, step) => {
        await report(opts, { i: step, total: step + 1, sigma: lastSigma, t: opts.sigmaToT?.(lastSigma), x: y, x0Pred: lastX0 });
        lastSigma = Math.exp(u);
      },
    },
  );
  const final = await denoise(denoiser, res.y, shape, levelOf(sigmaMin, opts.sigmaToT));
  if (opts.record) {
    opts.record.sigmas = [...res.us.map((u, i) => (i === res.us.length - 1 ? sigmaMin : i === 0 ? sigmaMax : Math.exp(u))), 0];
    opts.record.nfe = res.nfe + 1;
  }
  await report(opts, { i: res.accepted, total: res.accepted + 1, sigma: sigmaMin, t: opts.sigmaToT?.(sigmaMin), x: final, x0Pred: final });
  return f32(final);
}

const TOLERANCE = { type: 'number', default: 1e-5, suggested: 1e-4, min: 0, minExclusive: true, recipe: { min: 1e-6, max: 0.1 } } as const;

export const pfOdeSampler = defineSampler({
  name: 'pf-ode',
  label: 'Probability-flow ODE',
  blurb: 'Adaptive RK45 on the probability-flow ODE; picks its own step sizes.',
  options: {
    rtol: { ...TOLERANCE, label: 'Relative tolerance', help: 'Error the adaptive solver accepts per step, relative to the values: smaller is more accurate and slower.' },
    atol: { ...TOLERANCE, label: 'Absolute tolerance', help: 'Error the adaptive solver accepts per step near zero: smaller is more accurate and slower.' },
    sigmaMin: SIGMA_OPTIONS.sigmaMin,
    sigmaMax: SIGMA_OPTIONS.sigmaMax,
  },
  fit: continuousPreferred('The probability-flow ODE'),
  truncatable: false,
  batchCoupled: 'the adaptive step size is shared by the batch (one noise level per denoiser call)',
  plan: (s, process) => {
    const range = sigmaRange(process);
    return plannedSigmas('pf-ode', [s.sigmaMax ?? range.sigmaMax, s.sigmaMin ?? range.sigmaMin, 0], process);
  },
  run: async ({ denoiser, x, shape, plan, settings, process, common, sigmaToT }) => {
    const sig = plan.sigmas as number[];
    const record: { sigmas?: number[] } = {};
    const out = await pfOde(denoiser, x, shape, { ...common, sigmaMax: sig[0], sigmaMin: sig[1], rtol: settings.rtol, atol: settings.atol, sigmaToT, record });
    // The plan becomes the steps the solver accepted.
    Object.assign(plan, plannedSigmas('pf-ode', record.sigmas as number[], process), { initStd: plan.initStd });
    return out;
  },
});
