/**
 * The sampler playground's bench, off the UI thread: each sampler at a few step counts on a
 * Gaussian-mixture oracle (exact denoiser, src-main/diffusion/bench), reporting sliced Wasserstein
 * distance to true mixture samples and the excess negative log-likelihood of the samples under the
 * true density (nats above what true samples score). SWD has a sampling floor (~0.07 at n = 1024)
 * that hides the differences at 20 steps; the exact density does not: a point blurred off a sharp
 * blob costs nats at once, which is what few-step samplers do.
 */
import { GaussianMixture, RESERVED_STREAMS, runSamplerBench, samplerDescriptor, validateSamplerBenchSpec, type SamplerSettings } from '../../../src-main/diffusion/index';

export interface BenchRequest {
  samplers: string[];
  steps: number[];
  n: number;
  schedule: string;
}
export type BenchMessage =
  | { type: 'result'; name: string; steps: number; nfe: number; swd: number; nll: number; wallMs: number; points: number[] }
  | { type: 'done' }
  | { type: 'error'; message: string };

const SCHEDULES: Record<string, unknown> = {
  linear: { kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  cosine: { kind: 'discrete', beta: 'cosine', trainSteps: 1000 },
  edm: { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 },
};

// Eight small blobs on a ring inside [-1, 1]^2: sharp modes are what few-step samplers blur.
const K = 8;
const mixture = {
  weights: Array.from({ length: K }, () => 1 / K),
  means: Array.from({ length: K }, (_, k) => [0.7 * Math.cos((2 * Math.PI * k) / K), 0.7 * Math.sin((2 * Math.PI * k) / K)]),
  stds: Array.from({ length: K }, () => [0.05, 0.05]),
};

self.onmessage = async (ev: MessageEvent<BenchRequest>) => {
  const req = ev.data;
  try {
    const samplers: SamplerSettings[] = [];
    for (const name of req.samplers) {
      if (name === 'pf-ode') {
        for (const tol of [1e-1, 1e-2, 1e-3]) samplers.push({ name: 'pf-ode', rtol: tol, atol: tol });
      } else if (!samplerDescriptor(name)?.options.steps) {
        samplers.push({ name: name as SamplerSettings['name'] });
      } else {
        for (const steps of req.steps) samplers.push({ name: name as SamplerSettings['name'], steps });
      }
    }
    const spec = validateSamplerBenchSpec({ mixture, schedule: SCHEDULES[req.schedule] ?? SCHEDULES.linear, samplers, n: req.n, seed: 1 });
    const gm = new GaussianMixture(spec.mixture);
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    // Cross-entropy of true samples (drawn as the bench draws its reference): the zero line.
    const h = -mean(gm.logDensity(gm.sample(req.n, 1, RESERVED_STREAMS.benchReference)));
    // Each sampler alone, so its result (with its final points) reaches the page as soon as it is done.
    for (const s of spec.samplers) {
      const { out, dumps } = await runSamplerBench({ ...spec, samplers: [s] });
      const r = out.results[0];
      const pts = dumps.get(r.final)!;
      const nll = -mean(gm.logDensity(pts)) - h;
      (self as unknown as Worker).postMessage({ type: 'result', name: r.name, steps: r.steps, nfe: r.nfe, swd: r.swd, nll, wallMs: r.wallMs, points: Array.from(pts) } satisfies BenchMessage);
    }
    (self as unknown as Worker).postMessage({ type: 'done' } satisfies BenchMessage);
  } catch (e) {
    (self as unknown as Worker).postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies BenchMessage);
  }
};
