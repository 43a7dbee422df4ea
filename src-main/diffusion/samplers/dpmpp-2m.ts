/**
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Alg. 2, data prediction, multistep; k-diffusion
 * sample_dpmpp_2m). With lambda = -log sigma (log-SNR / 2 in the sigma scale), h = lambda_{i+1} - lambda_i:
 *   first step (no history) or the step to sigma = 0:  x <- (sigma_{i+1}/sigma_i) x - expm1(-h) D_i
 *   otherwise, r = h_{i-1} / h,  D' = (1 + 1/(2r)) D_i - 1/(2r) D_{i-1},
 *                                    x <- (sigma_{i+1}/sigma_i) x - expm1(-h) D'
 * The step to 0 returns D_i exactly (sigma_{i+1}/sigma_i = 0, expm1(-inf) = -1).
 */
import type { Denoiser, Shape } from '../types';
import { denoise, levelOf, report, startSigmaSampler, throwIfAborted, type SigmaSamplerOptions } from './common';
import { defineSampler } from './descriptor';
import { SIGMA_OPTIONS, STEPS } from './options';
import { sigmaSamplerPlan } from './plan';

export type DpmPp2mOptions = SigmaSamplerOptions;

export async function dpmpp2m(denoiser: Denoiser, x: Float32Array, shape: Shape, opts: DpmPp2mOptions): Promise<Float32Array> {
  let { xs, sigmas } = startSigmaSampler(x, shape, opts);
  const total = sigmas.length - 1;
  const n = xs.length;
  let oldD: Float32Array | undefined;
  let hLast = 0;
  for (let i = 0; i < total; i++) {
    throwIfAborted(opts.signal);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const level = levelOf(sigma, opts.sigmaToT);
    const x0 = await denoise(denoiser, xs, shape, level);
    const out = new Float64Array(n);
    if (next === 0) out.set(x0);
    else {
      const h = Math.log(sigma) - Math.log(next);
      const ratio = next / sigma;
      const c = -Math.expm1(-h);
      if (!oldD) {
        for (let j = 0; j < n; j++) out[j] = ratio * xs[j] + c * x0[j];
      } else {
        const r = hLast / h;
        const a = 1 + 1 / (2 * r);
        const b = 1 / (2 * r);
        for (let j = 0; j < n; j++) out[j] = ratio * xs[j] + c * (a * x0[j] - b * oldD[j]);
      }
      hLast = h;
    }
    oldD = x0;
    xs = out;
    await report(opts, { i, total, sigma, t: level.t, x: xs, x0Pred: x0 });
  }
  return Float32Array.from(xs);
}

export const dpmpp2mSampler = defineSampler({
  name: 'dpmpp-2m',
  label: 'DPM-Solver++ 2M',
  blurb: 'Second-order multistep solver: the best images at 10–25 steps.',
  a1111: 'DPM++ 2M',
  options: { steps: STEPS, ...SIGMA_OPTIONS },
  plan: (s, process) => sigmaSamplerPlan('dpmpp-2m', s, process, 'karras'),
  run: ({ denoiser, x, shape, plan, common, sigmaToT }) => dpmpp2m(denoiser, x, shape, { ...common, sigmas: plan.sigmas as number[], sigmaToT }),
});
