/**
 * The pieces of `sfumato bench expectations` (src-main/training/quality/expectations.ts) that need
 * no training: the threshold rule and the rendered shapes set.
 */
import { describe, expect, it } from 'vitest';
import { firstStepReaching, renderShapes } from '../../../src-main/training/quality/expectations';

describe('firstStepReaching', () => {
  const curve = [
    { step: 25, mmd: 0.7 },
    { step: 50, mmd: 0.5 },
    { step: 100, mmd: 0.3 },
    { step: 200, mmd: 0.08 },
  ];
  it('is the first scored step at least the given share of the way from noise to real', () => {
    // noise 0.6, real 0: halfway is 0.3, 90% is 0.06
    expect(firstStepReaching(curve, 0.6, 0, 0.5)).toBe(100);
    expect(firstStepReaching(curve, 0.6, 0, 0.8)).toBe(200);
  });
  it('is null when the curve never gets there', () => {
    expect(firstStepReaching(curve, 0.6, 0, 0.9)).toBeNull();
  });
});

describe('renderShapes', () => {
  it('is deterministic in the seed and differs between seeds', () => {
    const a = renderShapes(8, 16, 3);
    expect(renderShapes(8, 16, 3)).toEqual(a);
    expect(renderShapes(8, 16, 4)).not.toEqual(a);
  });
  it('draws coloured shapes on white: every image has both background and ink', () => {
    const size = 32;
    const imgs = renderShapes(20, size, 1);
    const per = size * size * 3;
    for (let i = 0; i < 20; i++) {
      let white = 0;
      let ink = 0;
      for (let p = 0; p < size * size; p++) {
        const q = i * per + p * 3;
        if (imgs[q] === 255 && imgs[q + 1] === 255 && imgs[q + 2] === 255) white++;
        else ink++;
      }
      // the smallest shape (radius 0.15 x 32 = 4.8 px) covers well over 20 pixels; none fills the image
      expect(ink, `image ${i}`).toBeGreaterThan(20);
      expect(white, `image ${i}`).toBeGreaterThan(size * size * 0.2);
    }
  });
});
