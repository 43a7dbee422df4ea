/**
 * The training benchmark: the bench UNet (docs/design-notes.md §The bench UNet) on random data, the workload
 * of torch_ref.py's train step (batch B, 32x32x3, eps-prediction MSE, linear betas 1e-4..0.02 over
 * 1000 steps, Adam lr 2e-4), median seconds per step after warm-up. No EMA and no clipping, as in
 * the reference. `profile` adds per-kernel times of one step grouped by op class.
 *
 * `gradients: 'onnxruntime'`: by default the whole step is the one-graph engine
 * (training/onnx/step-engine.ts: gradients, Adam and an EMA update in one ONNX Runtime run, the
 * state kept in ORT in PyTorch layout; clipping off, as in the reference, so the EMA is the only
 * extra work); `stepEngine: 'tfjs-optimizer'` is the previous engine (the tfjs-layout gradient
 * graph, then Adam in tfjs), kept to measure the difference.
 *
 * `workers` > 1: data-parallel gradient workers (training/parallel), one tfjs replica per thread,
 * the batch cut into row shards; the coordinator publishes the weights, sums the gradients and
 * runs Adam, as the trainer does. The profile then sums the workers' kernel times (CPU time, not
 * wall time) and adds the coordinator's own kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { makeDiscreteSchedule, normals, uniforms } from '../diffusion/index';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../network/config';
import { UNet, forwardFlops, paramCountOf } from '../network/unet';
import { Adam } from './optimizer';
import { DataParallel } from './parallel/data-parallel';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrtGradientEngine } from './onnx/engine';
import { OrtStepEngine, type TfjsLayoutState } from './onnx/step-engine';
import type { OrtProvider } from '../onnx/session';
import { readOrtProfile, type OrtProfile } from './onnx/profile';
import type { BatchArrays } from './parallel/shards';
import type { WorkerBackend } from './parallel/protocol';

export interface TrainBenchOptions {
  /** one-graph engine on CPU: ORT's NCHWc convolution kernels (default true) */
  nchwc?: boolean;
  batch: number;
  steps: number;
  warmup: number;
  profile: boolean;
  config?: UNetConfig;
  /** gradient worker threads (≤ 1: in-process) */
  workers?: number;
  /** with workers: the coordinator computes one shard too (shards = workers + 1) */
  localShard?: boolean;
  /** gradients from the active tfjs backend (default) or from ONNX Runtime (training/onnx), with
   *  `threads` intra-op threads (default one per physical core) */
  gradients?: 'tfjs' | 'onnxruntime';
  threads?: number;
  /** with gradients 'onnxruntime' (default 'one-graph', see the header) */
  stepEngine?: 'one-graph' | 'tfjs-optimizer';
  /** onnxruntime: the execution provider of the gradient graph (default cpu; tests/gpu/check.ts) */
  provider?: OrtProvider;
}

export interface TrainBenchResult {
  params: number;
  fwd_gflop: number;
  batch: number;
  train_step_s: number;
  train_step_s_all: number[];
  /** the untimed warm-up steps, in seconds (the one-graph engine's first few steps are slower: see the CLI's --warmup) */
  warmup_step_s_all: number[];
  train_gflops: number;
  kernel_ms?: Record<string, number>;
  op_class_ms?: Record<string, number>;
  memory_mb: number;
  workers: number;
  local_shard?: boolean;
  /** median over timed steps of the slowest shard's compute time (inside its thread) */
  shard_compute_s?: number;
  /** median of step time minus the slowest shard: weight publishing, messaging, gradient sums, Adam */
  coordinator_overhead_s?: number;
  /** onnxruntime: intra-op threads, and the median time of the gradient graph call (input
   *  copies included); the rest of a step is the tfjs side (weights out, gradients in, Adam) */
  ort_threads?: number;
  gradient_s?: number;
  /** onnxruntime with profile: ONNX Runtime's per-kernel times of one gradient-graph (or step-graph) run */
  ort_profile?: OrtProfile;
  /** onnxruntime: which engine ran the step */
  step_engine?: 'one-graph' | 'tfjs-optimizer';
}

/** Op classes for the profile table (tfjs kernel names -> class). */
export function opClass(kernel: string): string {
  if (kernel === 'Conv2D' || kernel === 'FusedConv2D') return 'conv forward';
  if (kernel === 'Conv2DBackpropInput') return 'conv input gradient';
  if (kernel === 'Conv2DBackpropFilter') return 'conv weight gradient';
  if (kernel === 'BatchMatMul' || kernel === '_FusedMatMul') return 'matmul (attention, linear, im2col)';
  if (['Mean', 'Sum', 'Rsqrt', 'Sqrt', 'Square', 'SquaredDifference', 'Reshape'].includes(kernel)) return 'norm and reductions';
  if (['Sigmoid', 'Softmax', 'Exp', 'Log'].includes(kernel)) return 'activations and softmax';
  if (['Add', 'AddN', 'Sub', 'Mul', 'RealDiv', 'Neg', 'Maximum', 'Minimum'].includes(kernel)) return 'elementwise';
  if (['Transpose', 'Concat', 'Slice', 'Pad', 'PadV2', 'Tile', 'Reverse', 'ResizeNearestNeighbor', 'ResizeNearestNeighborGrad', 'SplitV', 'StridedSlice', 'Cast', 'Identity', 'GatherV2'].includes(kernel)) return 'data movement';
  return 'other';
}

export async function benchTrainStep(opts: TrainBenchOptions): Promise<TrainBenchResult> {
  const config = opts.config ?? BENCH_UNET_CONFIG;
  const B = opts.batch;
  const S = config.imageSize;
  const C = config.inChannels;
  const per = S * S * C;
  const model = new UNet(config, { seed: 0 });
  const adam = new Adam(model.variables());
  const schedule = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 });
  const x0 = normals(0, 1, B * per);
  const vars = model.variables();

  const workers = Math.max(1, Math.floor(opts.workers ?? 1));
  const backend = tf.getBackend();
  if (workers > 1 && backend !== 'wasm' && backend !== 'cpu') throw new Error(`gradient workers run tfjs wasm or cpu replicas; the active backend is ${backend}`);
  const oneGraph = opts.gradients === 'onnxruntime' && (opts.stepEngine ?? 'one-graph') === 'one-graph';
  const ort = opts.gradients === 'onnxruntime' && !oneGraph ? await OrtGradientEngine.create(config, B, { threads: opts.threads, provider: opts.provider }) : undefined;
  const og = oneGraph ? await OrtStepEngine.create(config, B, { threads: opts.threads, provider: opts.provider, nchwc: opts.nchwc }) : undefined;
  if (og) {
    const st = adam.state();
    const read = (list: readonly tf.Tensor[]) => list.map((x) => x.dataSync() as Float32Array);
    og.setState({ params: read(vars), m: read(st.m), v: read(st.v), ema: read(vars) }, { adamStep: 0, emaUpdates: 0 });
  }
  const dp = !ort && workers > 1 ? new DataParallel(model, { workers: opts.localShard ? workers - 1 : workers, backend: backend as WorkerBackend, localShard: opts.localShard }) : undefined;
  const ones = new Float32Array(B).fill(1);
  const shardMs: number[] = [];
  let workerKernels: Record<string, number> | undefined;

  const step = async (k: number, profile = false) => {
    const { xIn: xt, time: t, target: eps } = benchBatch(k, B, per, x0, schedule.alphasCumprod);
    if (og) {
      const t0 = performance.now();
      const r = await og.step({ lr: 2e-4, clip: 0, emaDecay: 0.999, fullBatch: B, micro: () => ({ batch: { xIn: xt, time: t, target: eps, weight: ones } }) });
      shardMs.push(performance.now() - t0);
      return r.loss;
    }
    if (ort) {
      const weights = vars.map((v) => v.dataSync() as Float32Array);
      const t0 = performance.now();
      const r = await ort.lossAndGrads(weights, { xIn: xt, time: t, target: eps, weight: ones }, B);
      shardMs.push(performance.now() - t0);
      const grads = r.grads.map((g, i) => tf.tensor(g, vars[i].shape, 'float32'));
      adam.apply(grads, 2e-4);
      tf.dispose(grads);
      return r.loss;
    }
    if (dp) {
      dp.syncWeights();
      const r = await dp.lossAndGrads({ xIn: xt, time: t, target: eps, weight: ones }, B, () => 0, { profile });
      shardMs.push(Math.max(...r.computeMs));
      if (profile) workerKernels = r.kernelMs;
      adam.apply(r.grads, 2e-4);
      tf.dispose(r.grads);
      return r.loss;
    }
    const { value, grads } = tf.tidy(() => {
      const xT = tf.tensor4d(xt, [B, S, S, C]);
      const tT = tf.tensor1d(t);
      const eT = tf.tensor4d(eps, [B, S, S, C]);
      return tf.variableGrads(() => tf.mean(tf.squaredDifference(model.apply(xT, tT, { training: true }), eT)) as tf.Scalar, vars);
    });
    adam.apply(
      vars.map((v) => grads[v.name]),
      2e-4,
    );
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };

  try {
    if (dp) await dp.ready;
    const warm: number[] = [];
    for (let k = 0; k < opts.warmup; k++) {
      const t0 = performance.now();
      await step(k);
      warm.push((performance.now() - t0) / 1000);
    }
    shardMs.length = 0;
    const times: number[] = [];
    for (let k = 0; k < opts.steps; k++) {
      const t0 = performance.now();
      await step(opts.warmup + k);
      times.push((performance.now() - t0) / 1000);
    }
    const median = medianOf(times);
    const fwd = forwardFlops(config, B) / 1e9;
    const result: TrainBenchResult = {
      params: paramCountOf(config),
      fwd_gflop: fwd,
      batch: B,
      train_step_s: median,
      train_step_s_all: times,
      warmup_step_s_all: warm,
      train_gflops: (3 * fwd) / median,
      memory_mb: tf.memory().numBytes / 2 ** 20,
      workers: ort || og ? 1 : workers,
    };
    if (og) {
      result.step_engine = 'one-graph';
      result.ort_threads = og.threads;
      result.gradient_s = medianOf(shardMs) / 1000;
      if (opts.profile) result.ort_profile = await profileOneGraphStep(config, B, opts.threads, og.getState(), { xIn: x0, time: new Float32Array(B).fill(500), target: x0, weight: ones }, opts.nchwc);
    }
    if (ort) {
      result.step_engine = 'tfjs-optimizer';
      result.ort_threads = ort.threads;
      result.gradient_s = medianOf(shardMs) / 1000;
      if (opts.profile) result.ort_profile = await profileOrtStep(config, B, opts.threads, vars.map((v) => v.dataSync() as Float32Array), { xIn: x0, time: new Float32Array(B).fill(500), target: x0, weight: ones });
    }
    if (dp) {
      result.local_shard = dp.localShard;
      result.shard_compute_s = medianOf(shardMs) / 1000;
      result.coordinator_overhead_s = medianOf(times.map((t, i) => t - shardMs[i] / 1000));
    }
    if (opts.profile && !og) {
      const info = await tf.profile(async () => {
        await step(opts.warmup + opts.steps, true);
      });
      const kernel: Record<string, number> = {};
      const cls: Record<string, number> = {};
      const add = (name: string, ms: number) => {
        kernel[name] = (kernel[name] ?? 0) + ms;
        cls[opClass(name)] = (cls[opClass(name)] ?? 0) + ms;
      };
      for (const k of info.kernels) add(k.name, Number(k.kernelTimeMs) || 0);
      for (const [name, ms] of Object.entries(workerKernels ?? {})) add(name, ms);
      const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v * 10) / 10]));
      result.kernel_ms = round(kernel);
      result.op_class_ms = round(cls);
    }
    return result;
  } finally {
    adam.dispose();
    model.dispose();
    await dp?.dispose();
    await ort?.dispose();
    await og?.dispose();
  }
}

/** One warm-up and three profiled runs of the one-graph step on a separate profiling session. */
function profileOneGraphStep(config: UNetConfig, B: number, threads: number | undefined, state: TfjsLayoutState, batch: BatchArrays, nchwc: boolean | undefined): Promise<OrtProfile> {
  return profileRuns(
    async (prefix) => {
      const engine = await OrtStepEngine.create(config, B, { threads, profilePrefix: prefix, nchwc });
      engine.setState(state, { adamStep: 10, emaUpdates: 10 });
      return engine;
    },
    (engine) => engine.step({ lr: 2e-4, clip: 0, emaDecay: 0.999, fullBatch: B, micro: () => ({ batch }) }),
  );
}

/** One warm-up and three profiled runs of the gradient graph on a separate profiling session. */
function profileOrtStep(config: UNetConfig, B: number, threads: number | undefined, weights: Float32Array[], batch: BatchArrays): Promise<OrtProfile> {
  return profileRuns(
    (prefix) => OrtGradientEngine.create(config, B, { threads, profilePrefix: prefix }),
    (engine) => engine.lossAndGrads(weights, batch, B),
  );
}

/** Four runs of an engine created with ORT's profiler on, then its trace read back. */
async function profileRuns<E extends { endProfiling(): void; dispose(): Promise<void> }>(create: (profilePrefix: string) => Promise<E>, run: (engine: E) => Promise<unknown>): Promise<OrtProfile> {
  const dir = mkdtempSync(join(tmpdir(), 'sfumato-ort-profile-'));
  let engine: E | undefined;
  try {
    engine = await create(join(dir, 'step'));
    for (let k = 0; k < 4; k++) await run(engine);
    engine.endProfiling();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error(`ONNX Runtime wrote no profile into ${dir}`);
    return readOrtProfile(join(dir, file));
  } finally {
    await engine?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The median of a list (mean of the middle two for an even count; NaN for none). */
export function medianOf(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

/**
 * Micro-batch k of the train benches: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (Ho et al. 2020,
 * eq. 4) at seeded timesteps and noise (streams 2 and 3 of seed 0), eps the target, weights 1.
 */
export function benchBatch(k: number, B: number, per: number, x0: Float32Array, alphasCumprod: ArrayLike<number>): BatchArrays {
  const u = uniforms(0, 2, B, k * B);
  const eps = normals(0, 3, B * per, k * B * per);
  const xt = new Float32Array(B * per);
  const t = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const ti = Math.min(999, Math.floor(u[b] * 1000));
    t[b] = ti;
    const a = Math.sqrt(alphasCumprod[ti]);
    const s = Math.sqrt(1 - alphasCumprod[ti]);
    for (let i = b * per; i < (b + 1) * per; i++) xt[i] = a * x0[i] + s * eps[i];
  }
  return { xIn: xt, time: t, target: eps, weight: new Float32Array(B).fill(1) };
}
