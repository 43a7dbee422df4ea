/** The viewer's zoom maths: whole steps 1×..16×, and "fit" as the largest whole zoom that fits. */
import { describe, expect, it } from 'vitest';
import { clampZoom, fitZoom, MAX_ZOOM, stepZoom } from '../../../src-renderer/src/lib/zoom';

describe('viewer zoom', () => {
  it('clamps to whole levels between 1× and 16×', () => {
    expect(clampZoom(0)).toBe(1);
    expect(clampZoom(3.9)).toBe(3);
    expect(clampZoom(99)).toBe(MAX_ZOOM);
    expect(clampZoom(Number.NaN)).toBe(1);
  });

  it('fits the largest whole zoom, one image or two side by side', () => {
    expect(fitZoom(1000, 700, 32, 32)).toBe(16); // 21.8 -> capped at 16
    expect(fitZoom(600, 700, 64, 64)).toBe(9); // 9.375
    expect(fitZoom(600, 700, 64, 64, 2, 24)).toBe(4); // (600-24)/2/64 = 4.5
    expect(fitZoom(500, 120, 64, 64)).toBe(1); // 1.875
    expect(fitZoom(10, 10, 64, 64)).toBe(1); // never below 1×: it scrolls
    expect(fitZoom(100, 100, 0, 0)).toBe(1);
  });

  it('steps one level at a time and stops at the ends', () => {
    expect(stepZoom(1, 1)).toBe(2);
    expect(stepZoom(16, 1)).toBe(16);
    expect(stepZoom(1, -1)).toBe(1);
    expect(stepZoom(5, -1)).toBe(4);
  });
});
