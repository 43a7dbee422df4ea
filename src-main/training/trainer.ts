/**
 * The trainer: data, optimiser, EMA and checkpoints around the UNet (model/) and the diffusion
 * process (diffusion/) — the model / diffusion / trainer split of lucidrains'
 * denoising-diffusion-pytorch.
 *
 * Objective (Ho et al. 2020, Algorithm 1 / eq. 14, "L_simple"): draw t ~ U{0..T-1},
 * eps ~ N(0, I), x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, minimise ||eps - eps_theta(x_t, t)||^2.
 *
 * Every random draw is a pure function of (run seed, step) through the counter-based generator of
 * diffusion/rng.ts, so the data order, timesteps and noise of step k are the same however the run
 * got there (a resumed run repeats an uninterrupted one).
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../api/types';
import { makeDiscreteSchedule, normals, uniforms, type DiscreteSchedule } from '../diffusion/index';
import { UNet } from '../model/unet';
import type { UNetConfig } from '../model/config';
import { EMA } from '../model/ema';
import { readTensors, serializeWeights, type NamedTensorData, type WeightsMeta } from '../model/weights';

/** Philox streams of the training draws (keyed by the run seed; disjoint from sampling's use). */
export const TRAIN_STREAMS = {
  permutation: 2 ** 41,
  timestep: 2 ** 41 + 1,
  noise: 2 ** 41 + 2,
} as const;

export const OPTIMIZER_PREFIX = 'opt.';

export interface TrainingData {
  /** prepared pixels, NHWC uint8, count * size * size * 3 */
  pixels: Uint8Array;
  count: number;
  size: number;
  channels: number;
}

export function unetConfigOf(c: TrainConfig): UNetConfig {
  return {
    imageSize: c.imageSize,
    inChannels: 3,
    baseChannels: c.baseChannels,
    channelMults: c.channelMults.slice(),
    resBlocks: c.resBlocks,
    attentionResolutions: c.attentionResolutions.slice(),
    groups: c.groups,
    dropout: c.dropout,
    timeInput: 'discrete',
  };
}

export function scheduleOf(c: TrainConfig): DiscreteSchedule {
  return makeDiscreteSchedule({ kind: 'discrete', beta: c.schedule, betaStart: c.betaStart, betaEnd: c.betaEnd, trainSteps: c.trainTimesteps });
}

/** Fisher–Yates permutation of 0..n-1 for one epoch, from uniforms of the permutation stream. */
function epochPermutation(seed: number, epoch: number, n: number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const u = uniforms(seed, TRAIN_STREAMS.permutation, n, epoch * n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    const tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  return perm;
}

export class Trainer {
  readonly model: UNet;
  readonly ema: EMA;
  readonly optimizer: tf.AdamOptimizer;
  readonly schedule: DiscreteSchedule;
  private readonly sqrtAb: Float64Array;
  private readonly sqrtOneMinusAb: Float64Array;
  private permCache: { epoch: number; perm: Uint32Array } | undefined;
  /** number of optimiser steps completed */
  step = 0;

  constructor(
    readonly config: TrainConfig,
    readonly seed: number,
    readonly data: TrainingData,
  ) {
    if (data.size !== config.imageSize) {
      throw new Error(`The dataset cache is ${data.size} px but the run trains at ${config.imageSize} px; re-import the dataset at ${config.imageSize} px.`);
    }
    this.model = new UNet(unetConfigOf(config), { seed });
    this.ema = new EMA(this.model.variables(), { decay: config.ema });
    // PyTorch's Adam defaults (beta1 0.9, beta2 0.999, eps 1e-8), as torch_ref.py uses.
    this.optimizer = tf.train.adam(config.lr, 0.9, 0.999, 1e-8);
    this.schedule = scheduleOf(config);
    this.sqrtAb = this.schedule.alphasCumprod.map(Math.sqrt);
    this.sqrtOneMinusAb = this.schedule.alphasCumprod.map((a) => Math.sqrt(1 - a));
  }

  /** Dataset indices of the batch of `step` (data-pipeline position = step * batchSize). */
  batchIndices(step: number): Uint32Array {
    const { count } = this.data;
    const B = this.config.batchSize;
    const out = new Uint32Array(B);
    for (let b = 0; b < B; b++) {
      const pos = step * B + b;
      const epoch = Math.floor(pos / count);
      if (!this.permCache || this.permCache.epoch !== epoch) this.permCache = { epoch, perm: epochPermutation(this.seed, epoch, count) };
      out[b] = this.permCache.perm[pos % count];
    }
    return out;
  }

  /** Inputs of step `step`: x_t, t and the target eps, as flat NHWC arrays. */
  batch(step: number): { xt: Float32Array; t: Float32Array; eps: Float32Array } {
    const { size, channels, pixels } = this.data;
    const B = this.config.batchSize;
    const per = size * size * channels;
    const T = this.config.trainTimesteps;
    const idx = this.batchIndices(step);
    const u = uniforms(this.seed, TRAIN_STREAMS.timestep, B, step * B);
    const eps = normals(this.seed, TRAIN_STREAMS.noise, B * per, step * B * per);
    const xt = new Float32Array(B * per);
    const t = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      const ti = Math.min(T - 1, Math.floor(u[b] * T));
      t[b] = ti;
      const a = this.sqrtAb[ti];
      const s = this.sqrtOneMinusAb[ti];
      const src = idx[b] * per;
      const dst = b * per;
      for (let k = 0; k < per; k++) {
        const x0 = pixels[src + k] / 127.5 - 1;
        xt[dst + k] = a * x0 + s * eps[dst + k];
      }
    }
    return { xt, t, eps };
  }

  /** One optimiser step; returns the loss (mean squared error of the eps prediction). */
  trainStep(): number {
    const { size, channels } = this.data;
    const B = this.config.batchSize;
    const { xt, t, eps } = this.batch(this.step);
    const lossT = tf.tidy(() => {
      const xT = tf.tensor4d(xt, [B, size, size, channels]);
      const tT = tf.tensor1d(t);
      const epsT = tf.tensor4d(eps, [B, size, size, channels]);
      return this.optimizer.minimize(() => tf.mean(tf.squaredDifference(this.model.apply(xT, tT, { training: true }), epsT)) as tf.Scalar, true)!;
    });
    const loss = lossT.dataSync()[0];
    lossT.dispose();
    if (!Number.isFinite(loss)) {
      throw new Error(`The loss became ${loss} at step ${this.step + 1}; lower the learning rate (lr ${this.config.lr}).`);
    }
    this.ema.update();
    this.step++;
    return loss;
  }

  /** Checkpoint bytes: weights, EMA weights, Adam state, and everything needed to resume. */
  async checkpointBytes(meta: WeightsMeta): Promise<Uint8Array> {
    const named = this.model.namedVariables();
    const tensors: NamedTensorData[] = readTensors(named.map(({ name, variable }) => ({ name, tensor: variable })));
    const shadows = this.ema.shadows();
    tensors.push(...readTensors(named.map(({ name }, i) => ({ name: 'ema.' + name, tensor: shadows[i] }))));
    // Adam's state: [iterations scalar (a fresh tensor), m..., v... (the optimiser's own variables)].
    const [iter, ...moments] = await this.optimizer.getWeights();
    const iterations = iter.tensor.dataSync()[0];
    iter.tensor.dispose();
    tensors.push(...readTensors(moments.map((w) => ({ name: OPTIMIZER_PREFIX + w.name, tensor: w.tensor }))));
    return serializeWeights(tensors, {
      ...meta,
      kind: 'sfumato-checkpoint',
      config: this.model.config,
      trainConfig: this.config,
      seed: this.seed,
      step: this.step,
      emaUpdates: this.ema.updates,
      optimizerIterations: iterations,
      dataPosition: this.step * this.config.batchSize,
    });
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema.dispose();
    this.model.dispose();
  }
}
