import { describe, expect, it } from 'vitest';
import { normals } from '../../../src-main/diffusion/index';
import { kernelMmd2, memorisationShare, nearestDistances, pixelSwd } from '../../../src-main/training/quality/metrics';
import { parseIdx3 } from '../../../src-main/training/quality/bench';

describe('quality metrics', () => {
  const D = 8;
  const a = normals(1, 0, 200 * D);
  const b = normals(2, 0, 200 * D);
  const shifted = b.map((v) => v + 1);

  it('kernel MMD² is ~0 for two samples of one distribution and clearly positive otherwise', () => {
    const same = kernelMmd2(a, b, D);
    const diff = kernelMmd2(a, shifted, D);
    expect(Math.abs(same)).toBeLessThan(0.01);
    expect(diff).toBeGreaterThan(0.1);
  });

  it('pixel SWD grows with the shift between distributions', () => {
    expect(pixelSwd(a, b, D)).toBeLessThan(pixelSwd(a, shifted, D));
    // a shift of 1 in every coordinate moves each unit projection by |sum(u)|; SWD is well above 0.3
    expect(pixelSwd(a, shifted, D)).toBeGreaterThan(0.3);
  });

  it('memorisation: copies of the training set score 1, fresh draws score low', () => {
    const train = a.subarray(0, 100 * D);
    expect(memorisationShare(train.slice(0, 20 * D), train, D).share).toBe(1);
    expect(memorisationShare(b.subarray(0, 50 * D), train, D).share).toBeLessThan(0.8);
    // within one set each point's own index is skipped
    const pts = Float32Array.from([0, 0, 3, 4]);
    expect(Array.from(nearestDistances(pts, pts, 2))).toEqual([5, 5]);
    expect(Array.from(nearestDistances(pts, Float32Array.from([0, 0, 3, 4]), 2))).toEqual([0, 0]);
  });

  it('parses IDX3 image files and rejects others', () => {
    const bytes = new Uint8Array(16 + 2 * 2 * 3);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, 2051);
    dv.setUint32(4, 3);
    dv.setUint32(8, 2);
    dv.setUint32(12, 2);
    bytes[16] = 7;
    expect(parseIdx3(bytes)).toMatchObject({ count: 3, rows: 2, cols: 2 });
    expect(parseIdx3(bytes).pixels[0]).toBe(7);
    expect(() => parseIdx3(new Uint8Array(20))).toThrow(/IDX3/);
    expect(() => parseIdx3(bytes.subarray(0, 20))).toThrow(/truncated/);
  });
});
