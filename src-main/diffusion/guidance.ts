/**
 * Classifier-free guidance (Ho & Salimans 2022, "Classifier-Free Diffusion Guidance", eq. 6 written
 * with w = W - 1): one wrapper turns a class-conditional network into the plain NetworkFn every
 * sampler and model-family adapter already takes,
 *
 *   out = out_u + W · (out_c − out_u),   out_c = F(x, t, c),  out_u = F(x, t, ∅)
 *
 * where ∅ is the null class (label K) the network learned through label dropout. For an
 * eps-network this is eps = eps_u + W (eps_c − eps_u). Every model family (eps, x0, v, score, EDM
 * preconditioning; parameterisation.ts) maps the network output to x0 by x0 = a(σ)·x + b(σ)·out
 * with the same a, b for both halves, so combining the raw outputs equals combining the eps (or
 * x0) estimates: one wrapper serves every family and every sampler. W = 1 is the plain
 * conditional model (the unconditional half is skipped), W = 0 the unconditional one; W > 1
 * sharpens towards the class. The data-range clip of familyDenoiser applies after guidance.
 *
 * The conditional and unconditional halves run in ONE network call on a batch of 2B rows
 * ([x; x] with labels [c; ∅]), as the reference implementations batch them.
 */
import type { NetworkFn } from './parameterisation';
import { DiffusionConfigError } from './types';

export interface GuidanceSpec {
  /** each row's class index 0..K-1 (length B, or one value for every row) */
  labels: Int32Array | number;
  /** the null class index K (= the number of real classes) */
  nullClass: number;
  /** guidance scale W ≥ 0 (1: conditional, 0: unconditional) */
  scale: number;
}

/** Checks a guidance scale at the edge: a finite number ≥ 0. */
export function validateGuidanceScale(w: unknown, field = 'guidance'): number {
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
    throw new DiffusionConfigError(field, `${field} must be a number ≥ 0 (1 = the plain class-conditional model, 0 = unconditional, 2–5 = stronger class likeness), got ${JSON.stringify(w)}`);
  }
  return w;
}

/** The guided network: a plain NetworkFn over a class-conditional one (header). */
export function guidedNetwork(network: NetworkFn, g: GuidanceSpec): NetworkFn {
  const W = validateGuidanceScale(g.scale);
  const K = g.nullClass;
  if (!Number.isInteger(K) || K < 1) throw new DiffusionConfigError('nullClass', `the null class must be the class count K ≥ 1, got ${K}`);
  const labelsFor = (B: number): Int32Array => {
    const l = typeof g.labels === 'number' ? new Int32Array(B).fill(g.labels) : g.labels;
    if (l.length !== B) throw new DiffusionConfigError('labels', `guidance has ${l.length} labels for a batch of ${B}`);
    for (const c of l) if (!(Number.isInteger(c) && c >= 0 && c <= K)) throw new DiffusionConfigError('labels', `class index ${c} outside 0..${K}`);
    return l;
  };
  return async (x, shape, t) => {
    const B = shape[0];
    if (W === 0) return network(x, shape, t, new Int32Array(B).fill(K));
    const cond = labelsFor(B);
    if (W === 1) return network(x, shape, t, cond);
    const per = x.length / B;
    const both = new Float32Array(2 * x.length);
    both.set(x, 0);
    both.set(x, x.length);
    const labels = new Int32Array(2 * B);
    labels.set(cond, 0);
    labels.fill(K, B);
    const out = await network(both, [2 * B, ...shape.slice(1)], t, labels);
    // the network may reuse its output buffer: combine into a fresh array at once
    const res = new Float32Array(B * per);
    const n = B * per;
    for (let i = 0; i < n; i++) {
      const u = out[n + i];
      res[i] = u + W * (out[i] - u);
    }
    return res;
  };
}
