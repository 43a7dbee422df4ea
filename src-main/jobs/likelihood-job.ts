/**
 * The likelihood job, run inside a job process: open the checkpoint on the same network path as
 * sampling (ONNX Runtime, tfjs as the fallback), wrap it as the model family's denoiser WITHOUT the
 * sampling clip (the ODE's divergence is that of the model itself; the clip would zero the Jacobian
 * of saturated pixels), and run `imageLikelihood` (diffusion/likelihood/images.ts) in batches,
 * posting progress. Cancelling stops at the next denoiser call and returns nothing.
 */
import type { JobContext, LikelihoodJobSpec } from './protocol';
import type { LikelihoodEstimate } from '../api/types';
import { imageLikelihood, IMAGE_LIKELIHOOD_DEFAULTS } from '../diffusion/likelihood/images';
import { processOf, rawFamilyDenoiser } from '../diffusion/model-family';
import { openNetwork } from './sample-job';
import { guidedNetwork } from '../diffusion/guidance';

const PROGRESS_INTERVAL_MS = 250;

export async function runLikelihoodJob(spec: LikelihoodJobSpec, ctx: JobContext): Promise<void> {
  const t0 = performance.now();
  const net = await openNetwork(spec, ctx);
  ctx.post({ type: 'started', backend: net.backend, unavailable: {} });
  try {
    const process = processOf(spec.config.schedule);
    // class-conditional models: the likelihood of the unconditional model, p(x) (the null class K)
    const K = (spec.config.classes ?? []).length;
    const network = spec.config.classConditional && K > 0 ? guidedNetwork(net.network, { labels: K, nullClass: K, scale: 0 }) : net.network;
    const denoiser = rawFamilyDenoiser(network, spec.config.schedule, spec.config.objective, process);
    const s = spec.config.imageSize;
    let last = -Infinity;
    const r = await imageLikelihood(denoiser, process, spec.pixels, [3, s, s], {
      method: spec.method,
      probes: spec.probes,
      seed: spec.seed,
      batch: spec.batch,
      rtol: spec.rtol,
      atol: spec.atol,
      fdStep: IMAGE_LIKELIHOOD_DEFAULTS.fdStep,
      vlbSteps: IMAGE_LIKELIHOOD_DEFAULTS.vlbSteps,
      signal: ctx.signal,
      onProgress: (fraction) => {
        const now = performance.now();
        if (now - last < PROGRESS_INTERVAL_MS && fraction < 1) return;
        last = now;
        ctx.post({ type: 'likelihood-progress', fraction });
      },
    });
    const estimates: LikelihoodEstimate[] = [];
    if (r.pfOde) estimates.push({ method: 'pf-ode', ...r.pfOde });
    if (r.vlb) estimates.push({ method: 'vlb', ...r.vlb });
    ctx.post({ type: 'likelihood-done', result: { estimates, backend: net.backend, wallSeconds: (performance.now() - t0) / 1000 } });
  } finally {
    await net.dispose();
  }
}
