/**
 * Exponential moving average with TensorBoard's debiasing: s_i = a·s_{i-1} + (1-a)·y_i, divided by
 * 1 - a^(i+1) so the start is not pulled toward 0. a = 0 returns the raw values.
 */
export function emaSmooth(ys: ArrayLike<number>, a: number): number[] {
  const out: number[] = new Array(ys.length);
  let s = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = NaN;
      continue;
    }
    s = a * s + (1 - a) * y;
    n++;
    out[i] = a > 0 ? s / (1 - a ** n) : y;
  }
  return out;
}
