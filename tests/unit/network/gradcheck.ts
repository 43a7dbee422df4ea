/**
 * Gradient checking against central finite differences, for float32 tfjs functions.
 *
 * The scalar checked is L(p) = sum(f(p) * R) with a fixed random R, summed in float64 on the host
 * (so the reduction adds no float32 rounding). Entries are drawn at random among those whose
 * analytic gradient is not tiny relative to the tensor's largest (near-zero entries only measure
 * float32 noise). Central differences: (L(p + h e_j) - L(p - h e_j)) / 2h, truncation O(h^2).
 */
import * as tf from '@tensorflow/tfjs';

export interface GradCheckOptions {
  /** entries checked per input tensor */
  entries?: number;
  /** step h, relative to max(1e-1, |p_j|)... see stepFor */
  h?: number;
  seed?: number;
  /** relative tolerance */
  rtol?: number;
}

export interface GradCheckResult {
  worst: number;
  checked: number;
  failures: string[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Fixed pseudo-random tensor data in [-1, 1). */
export function randomData(n: number, seed: number, scale = 1): Float32Array {
  const r = lcg(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

export function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(randomData(shape.reduce((a, b) => a * b, 1), seed, scale), shape);
}

/**
 * Checks d/d inputs[i] of sum(f(inputs) * R) for each i in `which` (default all).
 * `f` must be deterministic. Returns the worst relative error and any failures.
 */
export function gradCheck(
  f: (inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  opts: GradCheckOptions & { which?: number[]; names?: string[] } = {},
): GradCheckResult {
  const entries = opts.entries ?? 3;
  const h = opts.h ?? 1e-2;
  const rtol = opts.rtol ?? 1e-2;
  const rand = lcg(opts.seed ?? 7);
  const which = opts.which ?? inputs.map((_, i) => i);

  const outShape = tf.tidy(() => f(inputs).shape);
  const R = randomData(outShape.reduce((a, b) => a * b, 1), 12345);
  const lossAt = (ins: tf.Tensor[]): number => {
    const y = tf.tidy(() => f(ins));
    const d = y.dataSync();
    y.dispose();
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i] * R[i];
    return s;
  };

  const grads = tf.tidy(() => {
    const Rt = tf.tensor(R, outShape);
    const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), Rt)));
    return g(inputs);
  });
  const failures: string[] = [];
  let worst = 0;
  let checked = 0;
  try {
    for (const i of which) {
      const g = grads[i].dataSync();
      const base = inputs[i].dataSync().slice() as Float32Array;
      let gmax = 0;
      for (const v of g) gmax = Math.max(gmax, Math.abs(v));
      const candidates: number[] = [];
      for (let j = 0; j < g.length; j++) if (Math.abs(g[j]) >= 0.1 * gmax) candidates.push(j);
      if (gmax === 0) {
        failures.push(`${opts.names?.[i] ?? `input ${i}`}: analytic gradient is identically zero`);
        continue;
      }
      for (let k = 0; k < Math.min(entries, candidates.length); k++) {
        const j = candidates[Math.floor(rand() * candidates.length)];
        const plus = base.slice();
        plus[j] += h;
        const minus = base.slice();
        minus[j] -= h;
        const evalWith = (data: Float32Array) => {
          const t = tf.tensor(data, inputs[i].shape);
          const ins = inputs.slice();
          ins[i] = t;
          const v = lossAt(ins);
          t.dispose();
          return v;
        };
        // the step actually taken in float32
        const hEff = (Math.fround(plus[j]) - Math.fround(minus[j])) / 2;
        const fd = (evalWith(plus) - evalWith(minus)) / (2 * hEff);
        const an = g[j];
        const err = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 1e-3 * gmax);
        worst = Math.max(worst, err);
        checked++;
        if (!(err < rtol)) failures.push(`${opts.names?.[i] ?? `input ${i}`}[${j}]: analytic ${an}, finite difference ${fd}, rel err ${err.toExponential(2)}`);
      }
    }
  } finally {
    for (const g of grads) g.dispose();
  }
  return { worst, checked, failures };
}
