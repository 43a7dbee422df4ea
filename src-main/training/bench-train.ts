/**
 * The training benchmark: the bench UNet of shared/bench/UNET_SPEC.md on random data, the workload
 * of torch_ref.py's train step (batch B, 32x32x3, eps-prediction MSE, linear betas 1e-4..0.02 over
 * 1000 steps, Adam lr 2e-4), median seconds per step after warm-up. No EMA and no clipping, as in
 * the reference. `profile` adds per-kernel times of one step grouped by op class.
 */
import * as tf from '@tensorflow/tfjs';
import { makeDiscreteSchedule, normals, uniforms } from '../diffusion/index';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../model/config';
import { UNet, forwardFlops, paramCountOf } from '../model/unet';
import { Adam } from './optimizer';

export interface TrainBenchOptions {
  batch: number;
  steps: number;
  warmup: number;
  profile: boolean;
  config?: UNetConfig;
}

export interface TrainBenchResult {
  params: number;
  fwd_gflop: number;
  batch: number;
  train_step_s: number;
  train_step_s_all: number[];
  train_gflops: number;
  kernel_ms?: Record<string, number>;
  op_class_ms?: Record<string, number>;
  memory_mb: number;
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

  const step = (k: number) => {
    const u = uniforms(0, 2, B, k * B);
    const eps = normals(0, 3, B * per, k * B * per);
    const xt = new Float32Array(B * per);
    const t = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      const ti = Math.min(999, Math.floor(u[b] * 1000));
      t[b] = ti;
      const a = Math.sqrt(schedule.alphasCumprod[ti]);
      const s = Math.sqrt(1 - schedule.alphasCumprod[ti]);
      for (let i = b * per; i < (b + 1) * per; i++) xt[i] = a * x0[i] + s * eps[i];
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
    for (let k = 0; k < opts.warmup; k++) step(k);
    const times: number[] = [];
    for (let k = 0; k < opts.steps; k++) {
      const t0 = performance.now();
      step(opts.warmup + k);
      times.push((performance.now() - t0) / 1000);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    const fwd = forwardFlops(config, B) / 1e9;
    const result: TrainBenchResult = {
      params: paramCountOf(config),
      fwd_gflop: fwd,
      batch: B,
      train_step_s: median,
      train_step_s_all: times,
      train_gflops: (3 * fwd) / median,
      memory_mb: tf.memory().numBytes / 2 ** 20,
    };
    if (opts.profile) {
      const info = await tf.profile(() => {
        step(opts.warmup + opts.steps);
      });
      const kernel: Record<string, number> = {};
      const cls: Record<string, number> = {};
      for (const k of info.kernels) {
        const ms = Number(k.kernelTimeMs) || 0;
        kernel[k.name] = (kernel[k.name] ?? 0) + ms;
        cls[opClass(k.name)] = (cls[opClass(k.name)] ?? 0) + ms;
      }
      const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v * 10) / 10]));
      result.kernel_ms = round(kernel);
      result.op_class_ms = round(cls);
    }
    return result;
  } finally {
    adam.dispose();
    model.dispose();
  }
}
