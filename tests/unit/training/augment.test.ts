import { describe, expect, it } from 'vitest';
import { AUGMENT_DIM, IDENTITY_AUGMENT, augmentImage, colourMap, drawAugment, encodeAugment, inverseMap, isIdentity, type AugmentParams } from '../../../src-main/training/augment';

const S = 8;
const C = 3;

/** A reproducible image with distinct values everywhere. */
function image(size = S, channels = C): Float32Array {
  const x = new Float32Array(size * size * channels);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.9;
  return x;
}
const at = (x: Float32Array, size: number, px: number, py: number, ch: number) => x[(py * size + px) * C + ch];
const aug = (p: Partial<AugmentParams>): AugmentParams => ({ ...IDENTITY_AUGMENT, ...p });

describe('augmentation draws', () => {
  it('p = 0 draws the identity: a zero vector and an exact copy', () => {
    const a = drawAugment(7, 123, 0, S);
    expect(isIdentity(a)).toBe(true);
    expect(Array.from(encodeAugment(a, S))).toEqual(new Array(AUGMENT_DIM).fill(0));
    const x = image();
    expect(augmentImage(x, S, C, a)).toEqual(x);
  });

  it('is a pure function of (seed, position, p) and differs between positions', () => {
    expect(drawAugment(7, 5, 0.5, 32)).toEqual(drawAugment(7, 5, 0.5, 32));
    expect(drawAugment(7, 5, 1, 32)).not.toEqual(drawAugment(7, 6, 1, 32));
    expect(drawAugment(7, 5, 1, 32)).not.toEqual(drawAugment(8, 5, 1, 32));
  });

  it('applies each transform with probability p (binomial bounds over 4000 draws)', () => {
    const p = 0.3;
    const n = 4000;
    let scaled = 0;
    let bright = 0;
    let turned = 0;
    for (let i = 0; i < n; i++) {
      const a = drawAugment(11, i, p, 32);
      if (a.logScale !== 0) scaled++;
      if (a.brightness !== 0) bright++;
      if (a.rot90 !== 0) turned++;
    }
    const sd = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(scaled - n * p)).toBeLessThan(4 * sd);
    expect(Math.abs(bright - n * p)).toBeLessThan(4 * sd);
    // a quarter-turn draw picks k = 0 a quarter of the time
    expect(Math.abs(turned - n * p * 0.75)).toBeLessThan(4 * sd);
  });

  it('rejects a probability outside [0, 1]', () => {
    expect(() => drawAugment(1, 0, 1.5, S)).toThrow(/\[0, 1\]/);
    expect(() => drawAugment(1, 0, Number.NaN, S)).toThrow(/\[0, 1\]/);
  });
});

describe('the conditioning vector', () => {
  it('is zero only for the identity; every transform moves it', () => {
    expect(Array.from(encodeAugment(IDENTITY_AUGMENT, S))).toEqual(new Array(AUGMENT_DIM).fill(0));
    const single: Partial<AugmentParams>[] = [{ xflip: 1 }, { yflip: 1 }, { rot90: 1 }, { rot90: 2 }, { rot90: 3 }, { tx: 1 }, { ty: -2 }, { logScale: 0.1 }, { logAniso: 0.1, anisoAngle: 0.3 }, { brightness: 0.1 }, { logContrast: 0.2 }, { logSaturation: -0.5 }];
    const seen = new Set<string>();
    for (const p of single) {
      const v = encodeAugment(aug(p), S);
      expect(v.length).toBe(AUGMENT_DIM);
      expect(v.some((e) => e !== 0)).toBe(true);
      seen.add(Array.from(v).join(','));
    }
    expect(seen.size).toBe(single.length);
  });

  it('scaling along θ and θ + π encodes the same (it is the same map)', () => {
    const a = encodeAugment(aug({ logAniso: 0.3, anisoAngle: 0.4 }), S);
    const b = encodeAugment(aug({ logAniso: 0.3, anisoAngle: 0.4 + Math.PI }), S);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
  });
});

describe('geometric transforms', () => {
  const x = image();

  it('x-flip and y-flip mirror the image exactly and undo themselves', () => {
    const fx = augmentImage(x, S, C, aug({ xflip: 1 }));
    const fy = augmentImage(x, S, C, aug({ yflip: 1 }));
    for (let py = 0; py < S; py++)
      for (let px = 0; px < S; px++)
        for (let ch = 0; ch < C; ch++) {
          expect(at(fx, S, px, py, ch)).toBe(at(x, S, S - 1 - px, py, ch));
          expect(at(fy, S, px, py, ch)).toBe(at(x, S, px, S - 1 - py, ch));
        }
    expect(augmentImage(fx, S, C, aug({ xflip: 1 }))).toEqual(x);
  });

  it('a quarter turn is counter-clockwise on screen, exact, and four of them are the identity', () => {
    const r = augmentImage(x, S, C, aug({ rot90: 1 }));
    // counter-clockwise with y down: the input's right column becomes the output's top row
    for (let px = 0; px < S; px++) for (let ch = 0; ch < C; ch++) expect(at(r, S, px, 0, ch)).toBe(at(x, S, S - 1, px, ch));
    let y = x;
    for (let k = 0; k < 4; k++) y = augmentImage(y, S, C, aug({ rot90: 1 }));
    expect(y).toEqual(x);
    expect(augmentImage(augmentImage(x, S, C, aug({ rot90: 3 })), S, C, aug({ rot90: 1 }))).toEqual(x);
  });

  it('integer translation shifts exactly and mirrors at the border', () => {
    const t = augmentImage(x, S, C, aug({ tx: 2, ty: -1 }));
    for (let py = 0; py < S - 1; py++) for (let px = 2; px < S; px++) for (let ch = 0; ch < C; ch++) expect(at(t, S, px, py, ch)).toBe(at(x, S, px - 2, py + 1, ch));
    // column 0 samples input column -2, mirrored to column 2 (the edge pixel is not repeated)
    expect(at(t, S, 0, 0, 0)).toBe(at(x, S, 2, 1, 0));
  });

  it('scaling reproduces a linear image exactly in the interior (bilinear sampling is exact on linear functions)', () => {
    const n = 16;
    const ramp = new Float32Array(n * n * C);
    const f = (px: number, py: number, ch: number) => 0.03 * px - 0.02 * py + 0.1 * ch;
    for (let py = 0; py < n; py++) for (let px = 0; px < n; px++) for (let ch = 0; ch < C; ch++) ramp[(py * n + px) * C + ch] = f(px, py, ch);
    const a = aug({ logScale: 0.25, logAniso: 0.15, anisoAngle: 0.7 });
    const out = augmentImage(ramp, n, C, a);
    const [ma, mb, mc, md, me, mf] = inverseMap(a, n);
    let checked = 0;
    for (let py = 0; py < n; py++)
      for (let px = 0; px < n; px++) {
        const sx = ma * px + mb * py + mc;
        const sy = md * px + me * py + mf;
        if (sx < 0 || sy < 0 || sx > n - 1 || sy > n - 1) continue;
        checked++;
        for (let ch = 0; ch < C; ch++) expect(out[(py * n + px) * C + ch]).toBeCloseTo(f(sx, sy, ch), 5);
      }
    expect(checked).toBeGreaterThan(n * n * 0.5);
  });

  it('the inverse maps of a transform and of its opposite compose to the identity', () => {
    const n = 32;
    const a = aug({ logScale: 0.3, logAniso: -0.2, anisoAngle: 1.1 });
    const b = aug({ logScale: -0.3, logAniso: 0.2, anisoAngle: 1.1 });
    const m = inverseMap(a, n);
    const k = inverseMap(b, n);
    for (const [px, py] of [
      [0, 0],
      [5, 17],
      [31, 2],
    ]) {
      const qx = k[0] * px + k[1] * py + k[2];
      const qy = k[3] * px + k[4] * py + k[5];
      expect(m[0] * qx + m[1] * qy + m[2]).toBeCloseTo(px, 9);
      expect(m[3] * qx + m[4] * qy + m[5]).toBeCloseTo(py, 9);
    }
  });
});

describe('colour transforms', () => {
  it('brightness adds, contrast scales about mid-grey, saturation scales off the grey axis (closed forms)', () => {
    const px = Float32Array.from([0.5, -0.2, 0.1]);
    const one = (p: Partial<AugmentParams>) => Array.from(augmentImage(px, 1, 3, aug(p)));
    one({ brightness: 0.25 }).forEach((v, i) => expect(v).toBeCloseTo(px[i] + 0.25, 6));
    one({ logContrast: 1 }).forEach((v, i) => expect(v).toBeCloseTo(px[i] * 2, 6));
    const mean = (px[0] + px[1] + px[2]) / 3;
    one({ logSaturation: -1 }).forEach((v, i) => expect(v).toBeCloseTo(mean + (px[i] - mean) / 2, 6));
    // grey stays grey under saturation
    const grey = Float32Array.from([0.3, 0.3, 0.3]);
    Array.from(augmentImage(grey, 1, 3, aug({ logSaturation: 1.3 }))).forEach((v) => expect(v).toBeCloseTo(0.3, 6));
  });

  it('the colour map is invertible: solving it recovers the image', () => {
    const x = image(4);
    const a = aug({ brightness: -0.15, logContrast: 0.4, logSaturation: 0.8 });
    const y = augmentImage(x, 4, 3, a);
    const { m, o } = colourMap(a);
    // invert the 3x3 matrix by cofactors
    const [a0, a1, a2, b0, b1, b2, c0, c1, c2] = m;
    const det = a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0);
    const inv = [b1 * c2 - b2 * c1, a2 * c1 - a1 * c2, a1 * b2 - a2 * b1, b2 * c0 - b0 * c2, a0 * c2 - a2 * c0, a2 * b0 - a0 * b2, b0 * c1 - b1 * c0, a1 * c0 - a0 * c1, a0 * b1 - a1 * b0].map((v) => v / det);
    for (let i = 0; i < y.length; i += 3) {
      const r = y[i] - o;
      const g = y[i + 1] - o;
      const b = y[i + 2] - o;
      expect(inv[0] * r + inv[1] * g + inv[2] * b).toBeCloseTo(x[i], 5);
      expect(inv[3] * r + inv[4] * g + inv[5] * b).toBeCloseTo(x[i + 1], 5);
      expect(inv[6] * r + inv[7] * g + inv[8] * b).toBeCloseTo(x[i + 2], 5);
    }
  });

  it('rejects an image of the wrong length', () => {
    expect(() => augmentImage(new Float32Array(10), 2, 3, aug({ xflip: 1 }))).toThrow(/2x2x3/);
  });
});
