/**
 * Sampling speed over ONNX Runtime on the bench UNet (docs/design-notes.md §The bench UNet), the
 * workload of torch_ref.py's `sample()`: B images of 32x32x3 from N(0, I), DDIM with eta 0 and S
 * UNet evaluations at t = linspace(T-1, 0, S) truncated to integers (torch `.long()`), linear betas
 * 1e-4..0.02 over T = 1000, alphaBar_prev = 1 after the last step; eps prediction; random weights.
 * One warm-up sample, then timed samples (torch_ref times one; we report the best of `repeats`).
 * Keys follow torch_ref.py's JSON (`sample_img_per_s`, `fwd_gflop`, ...); `gflops` is its
 * `fwd_gflops_in_sampling` (S x forward GFLOP / seconds).
 *
 * Pure functions (no CLI, no printing): `npm run bench -- sample` wires them.
 */
import { ddim } from '../diffusion/samplers/ddim';
import { epsDenoiserDiscrete } from '../diffusion/parameterisation';
import { makeDiscreteSchedule } from '../diffusion/schedules/index';
import { batchNoise, consecutiveSeeds } from '../diffusion/rng';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../network/config';
import { forwardFlops, paramCountOf, unetParamSpecs } from '../network/architecture';
import { initialValue } from '../network/unet';
import type { NamedTensorData } from '../network/weights';
import { exportUNetToOnnx } from './export';
import { GraphBuilder, valueInfo } from './graph';
import { DataType, encodeModel } from './proto';
import { createOrtSession, ortNetwork, physicalCoreCount, type OrtProvider } from './session';

export interface OrtSamplingBenchOptions {
  /** default 'cpu' (the fair comparison with torch_ref.py); 'auto' picks per OS */
  provider?: OrtProvider | 'auto';
  /** images per sample (torch_ref.py default 16) */
  batch?: number;
  /** UNet evaluations (torch_ref.py default 20) */
  steps?: number;
  /** intra-op threads (default: physical cores; the fairness rule says 2 on both sides) */
  threads?: number;
  /** timed samples after the warm-up; the best is reported (default 1, as torch_ref.py) */
  repeats?: number;
  /** UNet config (default the bench UNet) */
  config?: UNetConfig;
  /** spin-waiting intra-op threads (OrtSessionOptions.spin; default true) */
  spin?: boolean;
  /** weight seed (default 0) */
  seed?: number;
  log?: (message: string) => void;
}

export interface OrtSamplingBenchResult {
  impl: string;
  provider: OrtProvider;
  /** why other providers were not used */
  provider_notes: string[];
  threads: number;
  batch: number;
  size: number;
  params: number;
  fwd_gflop: number;
  sample_steps: number;
  sample_s: number;
  sample_img_per_s: number;
  /** forward GFLOP/s achieved while sampling (torch_ref.py fwd_gflops_in_sampling) */
  gflops: number;
  export_s: number;
  session_s: number;
}

/** Random (seeded, PyTorch-default-init) weights of a config, tfjs layout, without tfjs. */
export function randomUNetTensors(config: UNetConfig, seed = 0): NamedTensorData[] {
  return unetParamSpecs(config).map((spec) => ({ name: spec.name, shape: spec.shape, data: initialValue(spec, seed) }));
}

/** torch_ref.py's DDIM timesteps: torch.linspace(T-1, 0, S).long() (truncation toward zero). */
export function torchRefTimesteps(T: number, steps: number): number[] {
  if (steps === 1) return [T - 1];
  return Array.from({ length: steps }, (_, i) => Math.trunc(Math.fround(T - 1 + ((0 - (T - 1)) * i) / (steps - 1))));
}

export async function benchOrtSampling(opts: OrtSamplingBenchOptions = {}): Promise<OrtSamplingBenchResult> {
  const config = opts.config ?? ({ ...BENCH_UNET_CONFIG, channelMults: [...BENCH_UNET_CONFIG.channelMults], attentionResolutions: [...BENCH_UNET_CONFIG.attentionResolutions] } as UNetConfig);
  const batch = opts.batch ?? 16;
  const steps = opts.steps ?? 20;
  const repeats = opts.repeats ?? 1;
  const threads = opts.threads ?? physicalCoreCount();
  for (const [k, v] of Object.entries({ batch, steps, repeats, threads })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`benchOrtSampling: ${k} must be a positive integer, got ${v}`);
  }
  const schedule = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });

  let t0 = performance.now();
  const bytes = exportUNetToOnnx({ config, tensors: randomUNetTensors(config, opts.seed ?? 0) }, { prediction: 'eps', schedule: schedule.config, appVersion: 'bench' });
  const exportS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const provider = opts.provider ?? 'cpu';
  const session = await createOrtSession(bytes, { provider, strict: provider !== 'auto', intraOpThreads: threads, spin: opts.spin, reuse: false, log: opts.log ?? (() => {}) });
  const sessionS = (performance.now() - t0) / 1000;
  try {
    const denoiser = epsDenoiserDiscrete(ortNetwork(session, { reuseOutput: true }), schedule);
    const ts = torchRefTimesteps(schedule.T, steps);
    const plan = { t: [...ts, -1], alphasCumprod: [...ts.map((t) => schedule.alphasCumprod[t]), 1] };
    const S = config.imageSize;
    const C = config.inChannels;
    const shape = [batch, C, S, S];
    const noise = batchNoise(consecutiveSeeds(1, batch), C * S * S);
    const sample = () => ddim(denoiser, noise.initial(), shape, { plan, eta: 0, noise });
    await sample(); // warm-up, as torch_ref.py
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const s = performance.now();
      await sample();
      best = Math.min(best, (performance.now() - s) / 1000);
    }
    const fwdGflop = forwardFlops(config, batch) / 1e9;
    return {
      impl: `onnxruntime-node-${session.ort.env.versions.node ?? session.ort.env.versions.common}`,
      provider: session.provider,
      provider_notes: session.attempts.filter((a) => !a.ok).map((a) => `${a.provider}: ${a.reason}`),
      threads: session.intraOpThreads,
      batch,
      size: S,
      params: paramCountOf(config),
      fwd_gflop: fwdGflop,
      sample_steps: steps,
      sample_s: best,
      sample_img_per_s: batch / best,
      gflops: (steps * fwdGflop) / best,
      export_s: exportS,
      session_s: sessionS,
    };
  } finally {
    await session.dispose();
  }
}

export interface MatmulPeakResult {
  gflops: number;
  n: number;
  threads: number;
  runs: number;
  best_s: number;
}

/**
 * Measured fp32 matmul peak through ORT's CPU EP (MLAS sgemm): C = A B with A, B [n x n] (B an
 * initializer, A an input so nothing is constant-folded), 2 n^3 FLOP per run; the best of `runs`.
 */
export async function measureMatmulPeakGflops(threads = physicalCoreCount(), opts: { n?: number; runs?: number; spin?: boolean } = {}): Promise<MatmulPeakResult> {
  const n = opts.n ?? 1024;
  const runs = opts.runs ?? 10;
  const g = new GraphBuilder();
  const a = g.fresh('a');
  const bData = new Float32Array(n * n);
  for (let i = 0; i < bData.length; i++) bData[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const b = g.floatInit('b', [n, n], bData);
  const c = g.op('MatMul', [a, b], {}, 'c');
  const bytes = encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'sfumato-bench',
    graph: g.graph('matmul_peak', [valueInfo(a, DataType.FLOAT, [n, n])], [valueInfo(c, DataType.FLOAT, [n, n])]),
  });
  const session = await createOrtSession(bytes, { provider: 'cpu', intraOpThreads: threads, spin: opts.spin, reuse: false, log: () => {} });
  try {
    const ort = session.ort;
    const feeds = { [a]: new ort.Tensor('float32', bData.slice(), [n, n]) };
    const out = { [c]: new ort.Tensor('float32', new Float32Array(n * n), [n, n]) };
    await session.run(feeds, out);
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const s = performance.now();
      await session.run(feeds, out);
      best = Math.min(best, (performance.now() - s) / 1000);
    }
    return { gflops: (2 * n ** 3) / best / 1e9, n, threads: session.intraOpThreads, runs, best_s: best };
  } finally {
    await session.dispose();
  }
}
