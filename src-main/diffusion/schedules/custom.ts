/**
 * Custom schedules: user control points on log-SNR(t), t in [0, 1], interpolated by a monotone
 * cubic (Fritsch & Carlson 1980, the PCHIP slopes of Fritsch & Butland 1984), so a strictly
 * decreasing set of points gives a strictly decreasing smooth curve with no overshoot.
 * Timestep i of T uses t = (i + 1) / T (timestep 0 is one step into the process, as for
 * cosine betas) and alphaBar_i = sigmoid(logSnr(t)).
 */
import { DiffusionConfigError } from '../types';

export type LogSnrPoints = ReadonlyArray<readonly [number, number]>;

export function validateLogSnrPoints(points: unknown, field = 'logSnrPoints'): LogSnrPoints {
  if (!Array.isArray(points) || points.length < 2) {
    throw new DiffusionConfigError(field, `${field} must be an array of at least 2 [t, logSnr] pairs, e.g. [[0, 10], [1, -10]]`);
  }
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Array.isArray(p) || p.length !== 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new DiffusionConfigError(`${field}[${i}]`, `${field}[${i}] must be a pair of finite numbers [t, logSnr]`);
    }
  }
  const pts = points as [number, number][];
  if (pts[0][0] !== 0 || pts[pts.length - 1][0] !== 1) {
    throw new DiffusionConfigError(field, `${field} must start at t = 0 and end at t = 1 (got ${pts[0][0]} .. ${pts[pts.length - 1][0]})`);
  }
  for (let i = 1; i < pts.length; i++) {
    if (!(pts[i][0] > pts[i - 1][0])) {
      throw new DiffusionConfigError(`${field}[${i}]`, `t must increase strictly: point ${i} has t = ${pts[i][0]} after ${pts[i - 1][0]}`);
    }
    if (!(pts[i][1] < pts[i - 1][1])) {
      throw new DiffusionConfigError(
        `${field}[${i}]`,
        `log-SNR must decrease strictly with t (noise must grow): point ${i} has ${pts[i][1]} after ${pts[i - 1][1]}; make it smaller`,
      );
    }
  }
  return pts;
}

/** Monotone cubic Hermite interpolant through the points (Fritsch–Carlson / PCHIP slopes). */
export function monotoneCubic(points: LogSnrPoints): (t: number) => number {
  const n = points.length;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const h: number[] = [];
  const delta: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    h.push(xs[i + 1] - xs[i]);
    delta.push((ys[i + 1] - ys[i]) / h[i]);
  }
  const m = new Array<number>(n).fill(0);
  if (n === 2) {
    m[0] = m[1] = delta[0];
  } else {
    for (let i = 1; i < n - 1; i++) {
      if (delta[i - 1] * delta[i] <= 0) m[i] = 0;
      else {
        // weighted harmonic mean (Fritsch & Butland 1984), guarantees monotonicity
        const w1 = 2 * h[i] + h[i - 1];
        const w2 = h[i] + 2 * h[i - 1];
        m[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i]);
      }
    }
    const endSlope = (h0: number, h1: number, d0: number, d1: number) => {
      let s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
      if (Math.sign(s) !== Math.sign(d0)) s = 0;
      else if (Math.sign(d0) !== Math.sign(d1) && Math.abs(s) > Math.abs(3 * d0)) s = 3 * d0;
      return s;
    };
    m[0] = endSlope(h[0], h[1], delta[0], delta[1]);
    m[n - 1] = endSlope(h[n - 2], h[n - 3], delta[n - 2], delta[n - 3]);
  }
  return (t: number) => {
    if (t <= xs[0]) return ys[0] + m[0] * (t - xs[0]);
    if (t >= xs[n - 1]) return ys[n - 1] + m[n - 1] * (t - xs[n - 1]);
    let k = 0;
    while (k < n - 2 && t > xs[k + 1]) k++;
    const s = (t - xs[k]) / h[k];
    const s2 = s * s;
    const s3 = s2 * s;
    return (
      (2 * s3 - 3 * s2 + 1) * ys[k] + (s3 - 2 * s2 + s) * h[k] * m[k] + (-2 * s3 + 3 * s2) * ys[k + 1] + (s3 - s2) * h[k] * m[k + 1]
    );
  };
}

/** alphaBar_i = sigmoid(logSnr((i+1)/T)) for i = 0..T-1. */
export function customAlphasCumprod(T: number, points: LogSnrPoints): Float64Array {
  const f = monotoneCubic(validateLogSnrPoints(points));
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const l = f((i + 1) / T);
    out[i] = 1 / (1 + Math.exp(-l));
  }
  return out;
}
