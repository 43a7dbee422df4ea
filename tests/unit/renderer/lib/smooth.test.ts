/** The loss curve's smoothing (src-renderer/src/lib/smooth.ts): a debiased EMA, as TensorBoard's. */
import { describe, expect, it } from 'vitest';
import { emaSmooth } from '../../../../src-renderer/src/lib/smooth';

describe('emaSmooth', () => {
  it('a = 0 returns the values', () => {
    expect(emaSmooth([3, 1, 2], 0)).toEqual([3, 1, 2]);
  });

  it('is debiased: a constant series stays that constant from the first point on', () => {
    for (const v of emaSmooth(Array(50).fill(0.7), 0.95)) expect(v).toBeCloseTo(0.7, 12);
  });

  it('matches the closed form: s1 = y0, s2 = (a·y0 + y1) / (1 + a)', () => {
    const a = 0.6;
    const [s1, s2] = emaSmooth([2, 5], a);
    expect(s1).toBeCloseTo(2, 12);
    expect(s2).toBeCloseTo((a * 2 + 5) / (1 + a), 12);
  });

  it('a missing value stays missing and does not reset the average', () => {
    const a = 0.5;
    const out = emaSmooth([1, NaN, 3], a);
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeCloseTo(emaSmooth([1, 3], a)[1], 12);
  });
});
