/**
 * Sample-quality measures for the train-quality bench, on images as flat arrays in [-1, 1]
 * (n x D, NHWC per image). Pure TypeScript: independent of the model code they judge.
 */
import { normals, slicedWasserstein } from '../../diffusion/index';

/** Pixel-space sliced Wasserstein-2 distance (random directions fixed by the seed). */
export function pixelSwd(a: Float32Array, b: Float32Array, D: number, seed = 0): number {
  return slicedWasserstein(a, b, D, seed, 256);
}

/**
 * Fixed random-convolution features (a cheap stand-in for an Inception embedding that needs no
 * download): F 3x3 filters with Gaussian weights (seeded), ReLU, global average and max pooling
 * -> 2F features per image. Images are NHWC size x size x C.
 */
export function randomConvFeatures(x: Float32Array, n: number, size: number, C: number, F = 32, seed = 1234): Float32Array {
  const w = normals(seed, 0, F * 9 * C);
  const scale = 1 / Math.sqrt(9 * C);
  const out = new Float32Array(n * 2 * F);
  const per = size * size * C;
  for (let i = 0; i < n; i++) {
    const base = i * per;
    for (let f = 0; f < F; f++) {
      let sum = 0;
      let max = 0;
      let count = 0;
      for (let y = 1; y < size - 1; y++) {
        for (let xx = 1; xx < size - 1; xx++) {
          let acc = 0;
          for (let ky = -1; ky <= 1; ky++) {
            for (let kx = -1; kx <= 1; kx++) {
              const p = base + ((y + ky) * size + (xx + kx)) * C;
              const wk = (f * 9 + (ky + 1) * 3 + (kx + 1)) * C;
              for (let c = 0; c < C; c++) acc += w[wk + c] * x[p + c];
            }
          }
          const r = Math.max(0, acc * scale);
          sum += r;
          if (r > max) max = r;
          count++;
        }
      }
      out[i * 2 * F + f] = sum / count;
      out[i * 2 * F + F + f] = max;
    }
  }
  return out;
}

function sqDist(a: Float32Array, i: number, b: Float32Array, j: number, D: number): number {
  let s = 0;
  for (let k = 0; k < D; k++) {
    const d = a[i * D + k] - b[j * D + k];
    s += d * d;
  }
  return s;
}

/**
 * The median heuristic's kernel bandwidth: the median distance between rows of `a` and rows of
 * `b` (the first 200 of each).
 */
export function medianBandwidth(a: Float32Array, b: Float32Array, D: number): number {
  const d: number[] = [];
  for (let i = 0; i < Math.min(a.length / D, 200); i++) for (let j = 0; j < Math.min(b.length / D, 200); j++) d.push(sqDist(a, i, b, j, D));
  d.sort((x, y) => x - y);
  return Math.sqrt(Math.max(1e-12, d[Math.floor(d.length / 2)]));
}

/**
 * Unbiased squared MMD with a Gaussian kernel (Gretton et al. 2012, "A kernel two-sample test",
 * eq. 3), bandwidth by default from the median heuristic between the two samples. 0 when the
 * distributions match.
 */
export function kernelMmd2(a: Float32Array, b: Float32Array, D: number, bandwidth?: number): number {
  const n = a.length / D;
  const m = b.length / D;
  const h2 = (bandwidth || medianBandwidth(a, b, D)) ** 2;
  const k = (x: Float32Array, i: number, y: Float32Array, j: number) => Math.exp(-sqDist(x, i, y, j, D) / (2 * h2));
  let kaa = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) kaa += 2 * k(a, i, a, j);
  let kbb = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) kbb += 2 * k(b, i, b, j);
  let kab = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) kab += k(a, i, b, j);
  return kaa / (n * (n - 1)) + kbb / (m * (m - 1)) - (2 * kab) / (n * m);
}

/** Distance from each row of `a` to its nearest row of `b` (skipping the same index when a === b). */
export function nearestDistances(a: Float32Array, b: Float32Array, D: number): Float64Array {
  const n = a.length / D;
  const m = b.length / D;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < m; j++) {
      if (a === b && i === j) continue;
      const d = sqDist(a, i, b, j, D);
      if (d < best) best = d;
    }
    out[i] = Math.sqrt(best);
  }
  return out;
}

/**
 * Memorisation check: the share of generated images that sit closer to their nearest training
 * image than the median distance between a training image and its nearest other training image.
 * Near 0: novel samples; near 1: copies of the training set.
 */
export function memorisationShare(generated: Float32Array, train: Float32Array, D: number): { share: number; trainNnMedian: number; genNnMedian: number } {
  const t = nearestDistances(train, train, D);
  const g = nearestDistances(generated, train, D);
  const med = (x: Float64Array) => {
    const s = Float64Array.from(x).sort();
    return s[Math.floor(s.length / 2)];
  };
  const threshold = med(t);
  let closer = 0;
  for (const d of g) if (d < threshold) closer++;
  return { share: closer / g.length, trainNnMedian: threshold, genNnMedian: med(g) };
}
