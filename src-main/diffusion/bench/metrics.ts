/** Distribution errors for the sampler bench (rows = samples, n x D row-major). */
import { fillNormal, RESERVED_STREAMS } from '../rng';

/**
 * Sliced Wasserstein-2 distance (Rabin et al. 2011; Bonneel et al. 2015): the root mean, over L
 * random unit directions theta_l, of the squared 1-D Wasserstein-2 distance between the projected
 * sets (sorted projections matched in order; sets must have the same size n):
 *   SWD = sqrt( mean_l mean_i (sort(A theta_l)_i - sort(B theta_l)_i)^2 ).
 * Directions: normal(seed, RESERVED_STREAMS.benchProjections, l*D + d), normalised.
 */
export function slicedWasserstein(a: ArrayLike<number>, b: ArrayLike<number>, D: number, seed: number, projections = 128): number {
  const n = a.length / D;
  if (b.length !== a.length) throw new Error('slicedWasserstein needs two sets of the same size');
  const dirs = new Float64Array(projections * D);
  fillNormal(dirs, seed, RESERVED_STREAMS.benchProjections, 0, projections * D, 0);
  const pa = new Float64Array(n);
  const pb = new Float64Array(n);
  let total = 0;
  for (let l = 0; l < projections; l++) {
    let norm = 0;
    for (let d = 0; d < D; d++) norm += dirs[l * D + d] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) {
      let sa = 0;
      let sb = 0;
      for (let d = 0; d < D; d++) {
        const th = dirs[l * D + d] / norm;
        sa += a[i * D + d] * th;
        sb += b[i * D + d] * th;
      }
      pa[i] = sa;
      pb[i] = sb;
    }
    pa.sort();
    pb.sort();
    let s = 0;
    for (let i = 0; i < n; i++) s += (pa[i] - pb[i]) ** 2;
    total += s / n;
  }
  return Math.sqrt(total / projections);
}

/** Per-dimension sample mean and (population) std. */
export function sampleMoments(x: ArrayLike<number>, D: number): { mean: Float64Array; std: Float64Array } {
  const n = x.length / D;
  const mean = new Float64Array(D);
  const std = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) mean[d] += x[i * D + d];
  for (let d = 0; d < D; d++) mean[d] /= n;
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) std[d] += (x[i * D + d] - mean[d]) ** 2;
  for (let d = 0; d < D; d++) std[d] = Math.sqrt(std[d] / n);
  return { mean, std };
}

/** RMS over dimensions of a - b. */
export function rmsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}
