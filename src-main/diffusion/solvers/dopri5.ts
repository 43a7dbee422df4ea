/**
 * Adaptive Dormand–Prince RK5(4) with FSAL (Dormand & Prince 1980; Hairer, Nørsett & Wanner,
 * "Solving ODEs I", §II.4–5, the tableau of Table 5.2, error norm eq. 4.11, step control eq. 4.13),
 * over a float64 state, for an async right-hand side (the denoiser is async).
 */
import { DiffusionConfigError } from '../types';
import { AbortError } from '../samplers/common';

export type OdeRhs = (u: number, y: Float64Array) => Promise<Float64Array>;

export interface Dopri5Options {
  rtol?: number;
  atol?: number;
  /** first step size (default: Hairer's starting-step heuristic) */
  h0?: number;
  maxSteps?: number;
  signal?: AbortSignal;
  /** called after every accepted step with the new u and state */
  onAccept?: (u: number, y: Float64Array, step: number) => void | Promise<void>;
}

export interface Dopri5Result {
  y: Float64Array;
  nfe: number;
  accepted: number;
  rejected: number;
  /** accepted u values, from u0 to u1 inclusive */
  us: number[];
}

const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
/** 5th-order weights (= last row of A) minus 4th-order weights: the embedded error estimate. */
const E = [35 / 384 - 5179 / 57600, 0, 500 / 1113 - 7571 / 16695, 125 / 192 - 393 / 640, -2187 / 6784 + 92097 / 339200, 11 / 84 - 187 / 2100, -1 / 40];

export async function dopri5(f: OdeRhs, y0: Float64Array, u0: number, u1: number, opts: Dopri5Options = {}): Promise<Dopri5Result> {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-5;
  const maxSteps = opts.maxSteps ?? 10000;
  if (!(rtol > 0) || !(atol > 0)) throw new DiffusionConfigError(rtol > 0 ? 'atol' : 'rtol', `rtol and atol must be > 0, got rtol=${rtol}, atol=${atol}`);
  const n = y0.length;
  const dir = Math.sign(u1 - u0);
  const span = Math.abs(u1 - u0);
  let nfe = 0;
  const rhs = async (u: number, y: Float64Array) => {
    nfe++;
    return f(u, y);
  };
  const norm = (v: Float64Array, ya: Float64Array, yb: Float64Array) => {
    let s = 0;
    for (let j = 0; j < n; j++) {
      const sc = atol + rtol * Math.max(Math.abs(ya[j]), Math.abs(yb[j]));
      s += (v[j] / sc) ** 2;
    }
    return Math.sqrt(s / n);
  };
  let y = Float64Array.from(y0);
  let u = u0;
  let k1 = await rhs(u, y);
  let h: number;
  if (opts.h0 !== undefined) h = Math.abs(opts.h0);
  else {
    // Hairer et al. II.4 starting step: h0 = 0.01 ||y|| / ||f||, refined with one Euler step
    const d0 = norm(y, y, y);
    const d1 = norm(k1, y, y);
    let hh = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    hh = Math.min(hh, span);
    const y1 = y.map((v, j) => v + dir * hh * k1[j]);
    const k2 = await rhs(u + dir * hh, y1);
    const d2 = norm(k2.map((v, j) => v - k1[j]), y, y) / hh;
    const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, hh * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1 / 5);
    h = Math.min(100 * hh, h1, span);
  }
  const us = [u0];
  let accepted = 0;
  let rejected = 0;
  const k: Float64Array[] = new Array(7);
  while (dir * (u1 - u) > 1e-12 * Math.max(1, Math.abs(u1))) {
    if (opts.signal?.aborted) {
      throw new AbortError('sampling was cancelled');
    }
    if (accepted + rejected >= maxSteps) throw new DiffusionConfigError('maxSteps', `the ODE solver needed more than ${maxSteps} steps; loosen rtol/atol`);
    if (h >= Math.abs(u1 - u)) h = Math.abs(u1 - u);
    const hs = dir * h;
    k[0] = k1;
    for (let s = 1; s < 7; s++) {
      const ys = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let acc = y[j];
        for (let q = 0; q < s; q++) if (A[s][q] !== 0) acc += hs * A[s][q] * k[q][j];
        ys[j] = acc;
      }
      if (s === 6) {
        // the 7th stage point is the 5th-order solution (FSAL)
        k[6] = await rhs(u + hs, ys);
        const err = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          let e = 0;
          for (let q = 0; q < 7; q++) e += E[q] * k[q][j];
          err[j] = hs * e;
        }
        const en = norm(err, y, ys);
        if (en <= 1) {
          u = Math.abs(u1 - (u + hs)) <= 1e-12 * Math.max(1, Math.abs(u1)) ? u1 : u + hs;
          y = ys;
          k1 = k[6];
          accepted++;
          us.push(u);
          if (opts.onAccept) await opts.onAccept(u, y, accepted - 1);
        } else rejected++;
        const fac = en === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * Math.pow(en, -1 / 5)));
        h = h * (en <= 1 ? fac : Math.min(1, fac));
      } else {
        k[s] = await rhs(u + C[s] * hs, ys);
      }
    }
  }
  return { y, nfe, accepted, rejected, us };
}
