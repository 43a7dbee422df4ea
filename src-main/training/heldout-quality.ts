/**
 * Held-out sample quality during training (issue 14 §3): at each preview, Q fresh samples are
 * compared with Q images of the run's dataset it never trained on, with the two measures of the
 * train-quality bench (training/quality/metrics.ts):
 *
 * - pixel SWD: sliced Wasserstein-2 distance between the two sets of images as pixel vectors
 *   (Rabin et al. 2011; 256 fixed random directions);
 * - feature MMD²: unbiased squared kernel MMD (Gretton et al. 2012, eq. 3) between fixed random-
 *   convolution features of the two sets, Gaussian kernel of one bandwidth for the whole run.
 *
 * Both are 0 when the sets come from one distribution; with Q images a set they are not 0 even
 * then, so each point carries its floor: the same measures between Q training images and the same
 * held-out images (what a model that draws exactly from the training distribution would score).
 * Samples far above the floor have not learnt the images; samples well below it while the copying
 * check (memorisation.ts) falls sit on the training images rather than their distribution.
 *
 * The held-out images are the dataset's images outside the run's training set (those excluded
 * before it started, as for the likelihood's held-out split); fewer than MIN_HELD_OUT and there is
 * no curve (the measures would be noise).
 */
import type { PreviewHeldOut } from '../api/types';
import { byteToModel } from '../diffusion/pixels';
import { kernelMmd2, medianBandwidth, pixelSwd, randomConvFeatures } from './quality/metrics';

/** samples and held-out images compared at each preview */
export const HELD_OUT_SAMPLES = 16;
/** the fewest held-out images that give a curve */
export const MIN_HELD_OUT = 8;
/** sampling seeds of the held-out comparison: fixed for the run, so the curve follows the model, not the noise */
export const HELD_OUT_SEEDS: readonly number[] = Array.from({ length: HELD_OUT_SAMPLES }, (_, i) => 20_000 + i);

interface ImageSet {
  size: number;
  channels: number;
  count: number;
  /** uint8 NHWC */
  pixels: Uint8Array;
}

export class HeldOutProbe {
  private constructor(
    private readonly held: Float32Array,
    private readonly heldFeatures: Float32Array,
    private readonly size: number,
    /** images a set (samples to draw) */
    readonly n: number,
    private readonly bandwidth: number,
    private readonly floor: { swd: number; mmd: number },
  ) {}

  /**
   * The probe of a run training on `trainIndices` of `cache` (undefined: on every image, so there
   * is nothing held out); undefined when fewer than MIN_HELD_OUT images are held out.
   */
  static fromCache(cache: ImageSet, trainIndices: readonly number[] | undefined): HeldOutProbe | undefined {
    if (!trainIndices) return undefined;
    const trained = new Set(trainIndices);
    const heldIdx: number[] = [];
    for (let i = 0; i < cache.count; i++) if (!trained.has(i)) heldIdx.push(i);
    if (heldIdx.length < MIN_HELD_OUT || trainIndices.length === 0 || cache.channels !== 3) return undefined;
    const n = Math.min(HELD_OUT_SAMPLES, heldIdx.length, trainIndices.length);
    const D = cache.size * cache.size * cache.channels;
    const pick = (from: readonly number[]) => {
      const out = new Float32Array(n * D);
      for (let k = 0; k < n; k++) {
        const src = from[Math.floor((k * from.length) / n)] * D;
        for (let j = 0; j < D; j++) out[k * D + j] = byteToModel(cache.pixels[src + j]);
      }
      return out;
    };
    const held = pick(heldIdx);
    const train = pick(trainIndices);
    const feats = (x: Float32Array) => randomConvFeatures(x, n, cache.size, 3);
    const heldF = feats(held);
    const trainF = feats(train);
    // one bandwidth for the whole run (the median heuristic on training vs held-out features)
    const bandwidth = medianBandwidth(trainF, heldF, FEATURES);
    const floor = { swd: pixelSwd(train, held, D), mmd: kernelMmd2(trainF, heldF, FEATURES, bandwidth) };
    return new HeldOutProbe(held, heldF, cache.size, n, bandwidth, floor);
  }

  /** The measures for `samples`: n NHWC images in the model range (clipped to [-1, 1] here). */
  measure(samples: Float32Array): PreviewHeldOut {
    const D = this.size * this.size * 3;
    if (samples.length !== this.n * D) throw new Error(`HeldOutProbe: expected ${this.n} images of ${D} values, got ${samples.length} values`);
    const x = samples.map((v) => Math.max(-1, Math.min(1, v)));
    const f = randomConvFeatures(x, this.n, this.size, 3);
    return {
      n: this.n,
      swd: pixelSwd(x, this.held, D),
      mmd: kernelMmd2(f, this.heldFeatures, FEATURES, this.bandwidth),
      floorSwd: this.floor.swd,
      floorMmd: this.floor.mmd,
    };
  }
}

/** random-convolution features per image (randomConvFeatures' default F = 32: mean and max) */
const FEATURES = 64;
