/**
 * A copying signal during training: how far the preview samples sit from their nearest training
 * image, relative to how far training images sit from their own nearest neighbour (the test of
 * the train-quality bench, training/quality/metrics.ts memorisationShare, made cheap enough to run
 * at every preview). A model that generalises makes samples about as far from the training set as
 * training images are from each other (ratio near or above 1); one that copies its set returns
 * near-duplicates (ratio well below 1, copy share near 1). Pixel L2 in the model range; the
 * reference is a fixed subset of at most MAX_REFERENCE images, evenly spaced through the cache.
 */
import { byteToModel } from '../diffusion/pixels';
import { nearestDistances } from './quality/metrics';
import type { TrainingData } from './trainer';

/** training images the samples are compared with (256² pairs of 3,072 values: ~0.2 s once) */
export const MAX_REFERENCE = 256;

export interface MemorisationSignal {
  /** median over samples of (distance to the nearest training image) / (the training images'
   *  median nearest-neighbour distance): ≳ 1 new pictures, ≪ 1 copies */
  nnRatio: number;
  /** share of samples closer to a training image than the training images' median NN distance */
  copyShare: number;
}

export class MemorisationProbe {
  private constructor(
    private readonly reference: Float32Array,
    private readonly D: number,
    /** median distance between a reference image and its nearest other reference image */
    readonly trainNnMedian: number,
  ) {}

  /** Builds the reference from a run's training data (undefined for fewer than 2 images). */
  static fromData(data: TrainingData): MemorisationProbe | undefined {
    const n = Math.min(data.count, MAX_REFERENCE);
    if (n < 2) return undefined;
    const D = data.size * data.size * data.channels;
    const ref = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      const src = Math.floor((i * data.count) / n) * D;
      for (let k = 0; k < D; k++) ref[i * D + k] = byteToModel(data.pixels[src + k]);
    }
    const med = median(nearestDistances(ref, ref, D));
    return med > 0 ? new MemorisationProbe(ref, D, med) : undefined;
  }

  /** The signal for `samples`: NHWC rows in the model range, as the training images. */
  measure(samples: Float32Array): MemorisationSignal {
    if (samples.length === 0 || samples.length % this.D !== 0) throw new Error(`MemorisationProbe: ${samples.length} values are not whole images of ${this.D}`);
    const d = nearestDistances(samples, this.reference, this.D);
    let closer = 0;
    for (const v of d) if (v < this.trainNnMedian) closer++;
    return { nnRatio: median(d) / this.trainNnMedian, copyShare: closer / d.length };
  }
}

function median(x: Float64Array): number {
  const s = Float64Array.from(x).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** [B, C, H, W] -> [B, H, W, C] (sampler output to the training images' layout). */
export function nchwToNhwc(x: Float32Array, B: number, C: number, S: number): Float32Array {
  const out = new Float32Array(x.length);
  const hw = S * S;
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let p = 0; p < hw; p++) out[(b * hw + p) * C + c] = x[(b * C + c) * hw + p];
  return out;
}
