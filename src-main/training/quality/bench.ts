/**
 * `sfumato bench train-quality`: train a small configuration on a real dataset for a fixed step
 * budget, sample from the EMA weights, and score the samples against held-out images beside two
 * trivial generators (pure noise, the mean image), plus a memorisation check.
 * Dataset: Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist; MIT), resized.
 */
import { promises as fs } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../api/types';
import { normals, sampleSeeds } from '../../diffusion/index';
import { tfjsNetwork } from '../../network/tfjs-network';
import { resolveTrainConfig } from '../config';
import { familyDenoiser } from '../../diffusion/model-family';
import { Trainer, type TrainingData } from '../trainer';
import { kernelMmd2, memorisationShare, pixelSwd, randomConvFeatures } from './metrics';
import { toModelRange } from '../../diffusion/pixels';

export const FASHION_MNIST_DIR = process.env.SFUMATO_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';

/** Parse an IDX3 image file (LeCun's MNIST format: magic 2051, count, rows, cols, then uint8). */
export function parseIdx3(bytes: Uint8Array): { count: number; rows: number; cols: number; pixels: Uint8Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || dv.getUint32(0) !== 2051) throw new Error('not an IDX3 image file (magic 2051 expected)');
  const count = dv.getUint32(4);
  const rows = dv.getUint32(8);
  const cols = dv.getUint32(12);
  if (bytes.length < 16 + count * rows * cols) throw new Error('IDX3 file is truncated');
  return { count, rows, cols, pixels: bytes.subarray(16, 16 + count * rows * cols) };
}

async function loadFashion(file: string, n: number, size: number): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await fs.readFile(join(FASHION_MNIST_DIR, file));
  } catch {
    throw new Error(`Fashion-MNIST not found in ${FASHION_MNIST_DIR}: install it with \`apt-get install -y dataset-fashion-mnist\` (or set SFUMATO_FASHION_MNIST).`);
  }
  const idx = parseIdx3(new Uint8Array(gunzipSync(raw)));
  const count = Math.min(n, idx.count);
  const out = new Uint8Array(count * size * size * 3);
  const per = idx.rows * idx.cols;
  for (let i = 0; i < count; i++) {
    const grey = Buffer.from(idx.pixels.subarray(i * per, (i + 1) * per));
    const small = await sharp(grey, { raw: { width: idx.cols, height: idx.rows, channels: 1 } }).resize(size, size, { kernel: 'lanczos3' }).raw().toBuffer();
    for (let p = 0; p < size * size; p++) out.set([small[p], small[p], small[p]], (i * size * size + p) * 3);
  }
  return out;
}

const toFloat = toModelRange;

export interface QualityOptions {
  steps: number;
  trainImages: number;
  evalImages: number;
  size: number;
  samplerSteps: number;
  seed: number;
  /** where gradients come from (the ladder's choice: gradientEngineOf(active backend)) */
  gradients?: 'tfjs' | 'onnxruntime';
  onProgress?: (msg: string) => void;
}

export async function runQualityBench(o: QualityOptions): Promise<Record<string, unknown>> {
  const { size } = o;
  const trainU8 = await loadFashion('train-images-idx3-ubyte.gz', o.trainImages, size);
  const heldU8 = await loadFashion('t10k-images-idx3-ubyte.gz', o.evalImages, size);
  const data: TrainingData = { pixels: trainU8, count: trainU8.length / (size * size * 3), size, channels: 3 };
  const config: TrainConfig = resolveTrainConfig(
    { imageSize: size, baseChannels: 32, channelMults: [1, 2], attentionResolutions: [size / 2], groups: 8, batchSize: 32, lr: 5e-4, warmupSteps: 50, lrSchedule: 'cosine', minLr: 5e-5, ema: 0.99, steps: o.steps, workers: 0 },
    data.count,
  );
  const trainer = new Trainer(config, o.seed, data, { gradients: o.gradients });
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (let k = 0; k < o.steps; k++) {
      const r = await trainer.trainStep();
      losses.push(r.loss);
      if ((k + 1) % 25 === 0) o.onProgress?.(`step ${k + 1}/${o.steps} loss ${r.loss.toFixed(4)}`);
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    // Samples from the EMA weights: DDIM, eta 0.
    const n = o.evalImages;
    const per = 3 * size * size;
    const denoiser = familyDenoiser(tfjsNetwork(trainer.model, trainer.ema.shadows()), config.schedule, config.objective, trainer.process);
    const gen = new Float32Array(n * per);
    for (let start = 0; start < n; start += 32) {
      const seeds = Array.from({ length: Math.min(32, n - start) }, (_, i) => 10_000 + start + i);
      const { x } = await sampleSeeds({ denoiser, process: trainer.process, sampler: { name: 'ddim', steps: o.samplerSteps }, seeds, shape: [seeds.length, 3, size, size] });
      // NCHW -> NHWC, clipped to the data range
      for (let b = 0; b < seeds.length; b++)
        for (let c = 0; c < 3; c++)
          for (let p = 0; p < size * size; p++) gen[(start + b) * per + p * 3 + c] = Math.max(-1, Math.min(1, x[b * per + c * size * size + p]));
    }
    const held = toFloat(heldU8);
    const train = toFloat(trainU8);
    const D = per;
    // Baselines: pure noise, and a constant generator that always answers the mean training image.
    const noiseGen = normals(99, 0, n * D).map((v) => Math.max(-1, Math.min(1, v)));
    const mean = new Float32Array(D);
    for (let i = 0; i < data.count; i++) for (let k = 0; k < D; k++) mean[k] += train[i * D + k] / data.count;
    const meanGen = new Float32Array(n * D);
    for (let i = 0; i < n; i++) meanGen.set(mean, i * D);
    const feats = (x: Float32Array) => randomConvFeatures(x, x.length / D, size, 3);
    const heldF = feats(held);
    const fd = 64;
    const score = (g: Float32Array) => ({ swd: pixelSwd(g, held, D), mmd: kernelMmd2(feats(g), heldF, fd) });
    const trainSubset = train.subarray(0, Math.min(data.count, 1000) * D);
    const mem = memorisationShare(gen, trainSubset, D);
    const smooth = (k: number) => {
      const w = losses.slice(Math.max(0, k - 25), k);
      return w.reduce((a, b) => a + b, 0) / w.length;
    };
    return {
      bench: 'train-quality',
      dataset: 'fashion-mnist',
      backend: o.gradients === 'onnxruntime' ? `onnxruntime (one-graph step; previews on tfjs ${tf.getBackend()})` : tf.getBackend(),
      size,
      trainImages: data.count,
      evalImages: n,
      steps: o.steps,
      batch: config.batchSize,
      train_seconds: trainSeconds,
      loss_first25: smooth(Math.min(25, losses.length)),
      loss_last25: smooth(losses.length),
      loss_curve: Array.from({ length: Math.ceil(losses.length / 25) }, (_, i) => Number(smooth(Math.min(losses.length, (i + 1) * 25)).toFixed(5))),
      model: score(gen),
      noise_baseline: score(noiseGen),
      mean_image_baseline: score(meanGen),
      memorisation: mem,
    };
  } finally {
    trainer.dispose();
  }
}
