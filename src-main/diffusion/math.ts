/** Small numeric helpers shared by the diffusion core (float64 maths). */

/** numpy.round / torch.round: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/**
 * torch.linspace(start, end, steps) computed in float64 with torch's symmetric formula
 * (first half from `start`, second half from `end`), so the end points are exact.
 */
export function linspace(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + i * step : end - (steps - 1 - i) * step;
  return out;
}

/** numpy.linspace(start, stop, num): start + i*step, last element exactly stop. */
export function npLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  out[num - 1] = stop;
  return out;
}

/** Round every element to float32 (the dtype diffusers keeps betas in), stored as float64. */
export function toFloat32Values(a: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.fround(a[i]);
  return out;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + exp(x)) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** log(sum(exp(a))) for a small array. */
export function logSumExp(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}

/** Error function (W. J. Cody's rational approximations, |rel err| < 1e-15 in double). */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x < 0.5) {
    const t = x * x;
    const p = ((((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947);
    const q = ((((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062);
    return (x * p) / q;
  }
  return 1 - erfc(x);
}

/** Complementary error function for x >= 0.5 (Cody 1969); erfc(x) for any x via symmetry. */
export function erfc(x: number): number {
  if (x < 0.5) return 1 - erf(x);
  let r: number;
  if (x < 4) {
    const p = [5.64188496988670089e-1, 8.88314979438837594, 6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8];
    const q = [1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3];
    let num = p[8] * x;
    let den = x;
    for (let i = 0; i < 7; i++) {
      num = (num + p[i]) * x;
      den = (den + q[i]) * x;
    }
    r = (num + p[7]) / (den + q[7]);
  } else {
    const p = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2];
    const q = [2.56852019228982242, 1.87295284992346725, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3];
    const z = 1 / (x * x);
    let num = p[5] * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + p[i]) * z;
      den = (den + q[i]) * z;
    }
    r = (z * (num + p[4])) / (den + q[4]);
    r = (0.564189583547756287 - r) / x;
  }
  const xs = Math.trunc(x * 16) / 16;
  const del = (x - xs) * (x + xs);
  return Math.exp(-xs * xs) * Math.exp(-del) * r;
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** log of the standard normal CDF, accurate in the far left tail. */
export function logNormalCdf(x: number): number {
  if (x > -37) return Math.log(normalCdf(x));
  // asymptotic: log Phi(x) = -x^2/2 - log(-x) - log(sqrt(2 pi)) + log(1 - 1/x^2 + 3/x^4 - 15/x^6)
  const x2 = x * x;
  return -0.5 * x2 - Math.log(-x) - 0.5 * Math.log(2 * Math.PI) + Math.log(1 - 1 / x2 + 3 / (x2 * x2) - 15 / (x2 * x2 * x2));
}

export const LOG2 = Math.LN2;
export const LOG_2PI = Math.log(2 * Math.PI);
