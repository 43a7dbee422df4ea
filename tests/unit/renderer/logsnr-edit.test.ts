/**
 * The custom log-SNR editor's editing rules (src-renderer/src/lib/logsnr-edit.ts): whatever the
 * pointer or keyboard asks for, every curve the editor emits is one the trainer accepts
 * (validateLogSnrPoints) — a move that would break monotonicity or leave the range is clamped.
 */
import { describe, expect, it } from 'vitest';
import { validateLogSnrPoints } from '../../../src-main/diffusion/index';
import { insertPoint, isValidCurve, LOGSNR_MAX, LOGSNR_MIN, movePoint, removePoint, type LogSnrPoints } from '../../../src-renderer/src/lib/logsnr-edit';

// The Schedules page's default curve (lib/schedules.ts DEFAULT_POINTS, which needs the DOM to import).
const start = (): LogSnrPoints => [
  [0, 9],
  [0.25, 3],
  [0.5, 0],
  [0.75, -3.2],
  [1, -10],
];
const valid = (pts: LogSnrPoints) => {
  expect(() => validateLogSnrPoints(pts)).not.toThrow();
  expect(isValidCurve(pts)).toBe(true);
};

describe('log-SNR editor: moves are clamped to the nearest valid curve', () => {
  it('dragging a middle point above its left neighbour stops just below it', () => {
    const pts = movePoint(start(), 2, 0.5, 12); // left neighbour is at log-SNR 3
    valid(pts);
    expect(pts[2]).toEqual([0.5, 2.99]);
  });

  it('dragging a middle point below its right neighbour stops just above it', () => {
    const pts = movePoint(start(), 2, 0.5, -9); // right neighbour is at -3.2
    valid(pts);
    expect(pts[2]).toEqual([0.5, -3.19]);
  });

  it('t stays strictly between the neighbours; the end points keep t = 0 and t = 1', () => {
    let pts = movePoint(start(), 2, 0.9, 0);
    valid(pts);
    expect(pts[2][0]).toBeLessThan(0.75);
    pts = movePoint(start(), 2, -3, 0);
    expect(pts[2][0]).toBeGreaterThan(0.25);
    pts = movePoint(start(), 0, 0.4, 14);
    valid(pts);
    expect(pts[0]).toEqual([0, 14]);
    pts = movePoint(start(), 4, 0.4, -20);
    valid(pts);
    expect(pts[4]).toEqual([1, LOGSNR_MIN]);
  });

  it('the range is kept: the first point cannot go above the top of the editor', () => {
    const pts = movePoint(start(), 0, 0, 99);
    valid(pts);
    expect(pts[0][1]).toBe(LOGSNR_MAX);
  });

  it('non-finite input leaves the point where it was', () => {
    expect(movePoint(start(), 2, Number.NaN, Number.POSITIVE_INFINITY)).toEqual(start());
  });

  it('every intermediate state of a wild drag is a valid curve', () => {
    let pts = start();
    // a pointer path that sweeps far past both neighbours and the range, in both axes
    for (let k = 0; k <= 400; k++) {
      const a = (k / 400) * Math.PI * 6;
      const i = 1 + (Math.floor(k / 50) % 3);
      pts = movePoint(pts, i, 0.5 + 0.8 * Math.cos(a), 25 * Math.sin(a));
      valid(pts);
      // and the end points too
      pts = movePoint(pts, k % 2 ? 0 : pts.length - 1, 0.5, 30 * Math.cos(a));
      valid(pts);
    }
  });

  it('squeezed neighbours leave no room: the point keeps its value instead of crossing', () => {
    const tight: LogSnrPoints = [
      [0, 5],
      [0.5, 4.99],
      [0.501, 4.98],
      [1, -5],
    ];
    const pts = movePoint(tight, 1, 0.9, 10);
    valid(pts);
    expect(pts[1]).toEqual([0.496, 4.99]); // t clamped below its right neighbour; log-SNR had no room
  });

  it('double-click inserts between neighbours with log-SNR clamped, or refuses when there is no room', () => {
    const pts = insertPoint(start(), 0.6, 8)!; // between 0.5 (0) and 0.75 (-3.2)
    valid(pts);
    expect(pts).toHaveLength(6);
    expect(pts[3]).toEqual([0.6, -0.01]);
    expect(insertPoint(start(), 0.5, 0)).toBeNull(); // on an existing point
    expect(insertPoint(start(), 0.002, 9)).toBeNull(); // too close to t = 0
    expect(insertPoint(start(), 1.5, 0)).toBeNull();
  });

  it('removing keeps the ends and a valid curve', () => {
    const pts = removePoint(start(), 2);
    valid(pts);
    expect(pts).toHaveLength(4);
    expect(removePoint(start(), 0)).toEqual(start());
    expect(removePoint(start(), 4)).toEqual(start());
  });
});
