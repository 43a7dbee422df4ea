/**
 * `sfumato bench expectations`: how many training steps a small preset needs before its samples
 * show recognisable structure, measured with the real trainer on a real set.
 *
 * Criterion (our own, stated here so the figures can be checked): after each step listed in `at` we draw
 * `n` samples from the EMA weights (DDIM, eta 0) and take the unbiased kernel MMD² (Gretton et al.
 * 2012, eq. 3) between random-convolution features of the samples and of `n` reference images
 * (training/quality/metrics.ts). Two anchors fix the scale: pure noise against the reference
 * (the untrained end) and `n` other real images against the reference (the best reachable).
 * "Shapes" is the first step at which the model is at least halfway from the noise figure to the
 * real-vs-real figure; "details" the first step at which it is 90% of the way.
 *
 * Sets: the bundled demo dataset (models/demo-dataset, 128 emoji, prepared as an import would:
 * transparency on white, centre crop, lanczos3) and a set of simple shapes rendered here.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '../../api/types';
import { normals, sampleSeeds, uniforms } from '../../diffusion/index';
import { familyDenoiser } from '../../diffusion/model-family';
import { toModelRange } from '../../diffusion/pixels';
import { prepareBytes, resolvePrepareOptions } from '../../datasets/preprocess';
import { tfjsNetwork } from '../../network/tfjs-network';
import { resolveTrainConfig } from '../config';
import { Trainer, type TrainingData } from '../trainer';
import { kernelMmd2, randomConvFeatures } from './metrics';

/**
 * The Tiny preset of the Train page (src-renderer/src/stores/runs.ts TRAIN_PRESETS.tiny, with the
 * form's defaults elsewhere; attention none). A unit test keeps the two equal.
 */
export const TINY_PRESET_CONFIG: Partial<TrainConfig> = {
  batchSize: 8,
  baseChannels: 16,
  channelMults: [1, 2],
  resBlocks: 1,
  groups: 8,
  lr: 1e-3,
  ema: 0.99,
  attentionResolutions: [],
};

export type ExpectationSet = 'demo' | 'shapes';

export interface ExpectationOptions {
  set: ExpectationSet;
  /** directory of the demo dataset's PNGs */
  demoDir: string;
  size: number;
  /** the steps after which the samples are scored (ascending; the last is the run's length) */
  at: number[];
  /** samples and reference images per evaluation */
  n: number;
  samplerSteps: number;
  seed: number;
  gradients?: 'tfjs' | 'onnxruntime';
  onProgress?: (msg: string) => void;
}

export interface ExpectationResult {
  bench: 'expectations';
  set: ExpectationSet;
  trainImages: number;
  size: number;
  preset: 'tiny';
  steps: number;
  noiseMmd: number;
  realMmd: number;
  curve: { step: number; mmd: number }[];
  /** first evaluated step at least halfway from noise to real (null: not within `steps`) */
  shapesAt: number | null;
  /** first evaluated step at least 90% of the way (null: not within `steps`) */
  detailsAt: number | null;
  trainSeconds: number;
}

/** First step whose score has come at least `share` of the way from `noise` down to `real`. */
export function firstStepReaching(curve: readonly { step: number; mmd: number }[], noise: number, real: number, share: number): number | null {
  const threshold = noise - share * (noise - real);
  return curve.find((p) => p.mmd <= threshold)?.step ?? null;
}

/** The demo PNGs, prepared like an import at `size` px: n x size x size x 3 bytes, in name order. */
async function loadDemo(dir: string, size: number): Promise<{ pixels: Uint8Array; count: number }> {
  const names = (await fs.readdir(dir)).filter((f) => f.endsWith('.png')).sort();
  if (!names.length) throw new Error(`No PNG images in ${dir}: point --demo-dir at the bundled demo dataset (models/demo-dataset).`);
  const opts = resolvePrepareOptions({ size });
  const per = size * size * 3;
  const out = new Uint8Array(names.length * per);
  for (let i = 0; i < names.length; i++) {
    const p = await prepareBytes(await fs.readFile(join(dir, names[i])), opts, names[i]);
    out.set(p.rgb, i * per);
  }
  return { pixels: out, count: names.length };
}

const PALETTE: [number, number, number][] = [
  [220, 50, 47],
  [38, 139, 210],
  [133, 153, 0],
  [181, 137, 0],
  [108, 113, 196],
  [42, 161, 152],
  [30, 30, 30],
];

/**
 * `count` images of one or two filled shapes (disc, square, triangle) in a flat colour on white,
 * at random places and sizes; 4x4 supersampled so edges are smooth. Deterministic in `seed`.
 */
export function renderShapes(count: number, size: number, seed: number): Uint8Array {
  const per = size * size * 3;
  const out = new Uint8Array(count * per).fill(255);
  const u = uniforms(seed, 0, count * 16);
  const SS = 4;
  for (let i = 0; i < count; i++) {
    const r = (k: number) => u[i * 16 + k];
    const shapes = r(0) < 0.5 ? 1 : 2;
    for (let s = 0; s < shapes; s++) {
      const o = 1 + s * 6;
      const kind = Math.floor(r(o) * 3);
      const rad = size * (0.15 + 0.2 * r(o + 1));
      const cx = rad + r(o + 2) * (size - 2 * rad);
      const cy = rad + r(o + 3) * (size - 2 * rad);
      const colour = PALETTE[Math.floor(r(o + 4) * PALETTE.length)];
      const inside = (x: number, y: number): boolean => {
        const dx = x - cx;
        const dy = y - cy;
        if (kind === 0) return dx * dx + dy * dy <= rad * rad;
        if (kind === 1) return Math.abs(dx) <= rad * 0.85 && Math.abs(dy) <= rad * 0.85;
        // upright triangle: apex at (cx, cy - rad), base at y = cy + rad / 2
        return dy <= rad / 2 && dy >= -rad && Math.abs(dx) <= ((dy + rad) / 1.5) * 0.866;
      };
      for (let py = 0; py < size; py++) {
        for (let px = 0; px < size; px++) {
          let hit = 0;
          for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) if (inside(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)) hit++;
          if (!hit) continue;
          const a = hit / (SS * SS);
          const q = i * per + (py * size + px) * 3;
          for (let c = 0; c < 3; c++) out[q + c] = Math.round(out[q + c] * (1 - a) + colour[c] * a);
        }
      }
    }
  }
  return out;
}

/** Train the Tiny preset on the set, scoring EMA samples after each step listed in `at`. */
export async function runExpectationsBench(o: ExpectationOptions): Promise<ExpectationResult> {
  const { size, n } = o;
  const per = size * size * 3;
  let train: Uint8Array;
  let ref: Uint8Array;
  let real: Uint8Array;
  if (o.set === 'demo') {
    const demo = await loadDemo(o.demoDir, size);
    train = demo.pixels;
    // the reference and the real-vs-real images: two disjoint halves of the set
    const half = Math.floor(demo.count / 2);
    const m = Math.min(n, half);
    real = demo.pixels.subarray(0, m * per);
    ref = demo.pixels.subarray(half * per, (half + m) * per);
  } else {
    train = renderShapes(256, size, o.seed + 1);
    ref = renderShapes(n, size, o.seed + 2);
    real = renderShapes(n, size, o.seed + 3);
  }
  const data: TrainingData = { pixels: train, count: train.length / per, size, channels: 3 };
  const steps = Math.max(...o.at);
  const config = resolveTrainConfig({ ...TINY_PRESET_CONFIG, imageSize: size, steps, workers: 1 }, data.count);
  const feats = (x: Float32Array) => randomConvFeatures(x, x.length / per, size, 3);
  const refF = feats(toModelRange(ref));
  const FD = 64; // randomConvFeatures: 2 x 32 features per image
  const score = (x: Float32Array) => kernelMmd2(feats(x), refF, FD);
  const count = ref.length / per;
  const noiseMmd = score(normals(99, 0, count * per).map((v) => Math.max(-1, Math.min(1, v))));
  const realMmd = score(toModelRange(real));
  o.onProgress?.(`${o.set}: ${data.count} images at ${size} px; noise ${noiseMmd.toExponential(3)}, real ${realMmd.toExponential(3)}`);

  const trainer = new Trainer(config, o.seed, data, { gradients: o.gradients });
  const curve: { step: number; mmd: number }[] = [];
  let trainMs = 0;
  try {
    for (let k = 1; k <= steps; k++) {
      const t0 = performance.now();
      await trainer.trainStep();
      trainMs += performance.now() - t0;
      if (!o.at.includes(k)) continue;
      const denoiser = familyDenoiser(tfjsNetwork(trainer.model, trainer.ema.shadows()), config.schedule, config.objective, trainer.process);
      const gen = new Float32Array(count * per);
      for (let start = 0; start < count; start += 32) {
        const seeds = Array.from({ length: Math.min(32, count - start) }, (_, i) => 10_000 + start + i);
        const { x } = await sampleSeeds({ denoiser, process: trainer.process, sampler: { name: 'ddim', steps: o.samplerSteps }, seeds, shape: [seeds.length, 3, size, size] });
        // NCHW -> NHWC, clipped to the data range
        for (let b = 0; b < seeds.length; b++)
          for (let c = 0; c < 3; c++)
            for (let p = 0; p < size * size; p++) gen[(start + b) * per + p * 3 + c] = Math.max(-1, Math.min(1, x[b * per + c * size * size + p]));
      }
      const mmd = score(gen);
      curve.push({ step: k, mmd });
      o.onProgress?.(`${o.set}: step ${k} mmd ${mmd.toExponential(3)} (${(trainMs / 1000).toFixed(0)} s training)`);
    }
  } finally {
    trainer.dispose();
  }
  return {
    bench: 'expectations',
    set: o.set,
    trainImages: data.count,
    size,
    preset: 'tiny',
    steps,
    noiseMmd,
    realMmd,
    curve,
    shapesAt: firstStepReaching(curve, noiseMmd, realMmd, 0.5),
    detailsAt: firstStepReaching(curve, noiseMmd, realMmd, 0.9),
    trainSeconds: trainMs / 1000,
  };
}
