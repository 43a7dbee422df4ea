/**
 * The held-out quality probe (training/heldout-quality.ts): which images it holds out, its floor
 * recomputed independently from the bench's metrics, and the order it gives (held-out images
 * themselves < training images (the floor) < noise).
 */
import { describe, expect, it } from 'vitest';
import { HELD_OUT_SAMPLES, HeldOutProbe, MIN_HELD_OUT } from '../../../src-main/training/heldout-quality';
import { kernelMmd2, pixelSwd } from '../../../src-main/training/quality/metrics';
import { byteToModel } from '../../../src-main/diffusion/pixels';
import { normals } from '../../../src-main/diffusion/index';

const S = 8;
const D = S * S * 3;

/** `count` images: smooth colour ramps with seeded colours (a family with structure, not noise). */
function ramps(count: number, seed = 1) {
  const z = normals(seed, 0, count * 6);
  const pixels = new Uint8Array(count * D);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++) {
          const a = 128 + 50 * z[i * 6 + c];
          const b = 40 * z[i * 6 + 3 + c];
          pixels[i * D + (y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(a + (b * (x + y)) / S)));
        }
  }
  return { size: S, channels: 3, count, pixels };
}

const toModel = (cache: ReturnType<typeof ramps>, idx: number[]) => {
  const out = new Float32Array(idx.length * D);
  idx.forEach((src, k) => {
    for (let j = 0; j < D; j++) out[k * D + j] = byteToModel(cache.pixels[src * D + j]);
  });
  return out;
};

describe('HeldOutProbe', () => {
  it('has nothing to measure when the run trains on every image or fewer than MIN_HELD_OUT are held out', () => {
    const cache = ramps(30);
    expect(HeldOutProbe.fromCache(cache, undefined)).toBeUndefined();
    const almostAll = Array.from({ length: 30 - (MIN_HELD_OUT - 1) }, (_, i) => i);
    expect(HeldOutProbe.fromCache(cache, almostAll)).toBeUndefined();
    expect(HeldOutProbe.fromCache(cache, almostAll.slice(1))?.n).toBe(MIN_HELD_OUT);
  });

  it('compares n = min(16, held-out, trained) images; the floor is the bench metrics of training vs held-out images', () => {
    const cache = ramps(60);
    const train = Array.from({ length: 30 }, (_, i) => 2 * i); // even images trained, odd held out
    const probe = HeldOutProbe.fromCache(cache, train)!;
    expect(probe.n).toBe(HELD_OUT_SAMPLES);
    const n = probe.n;
    const held = Array.from({ length: 30 }, (_, i) => 2 * i + 1);
    const pick = (from: number[]) => Array.from({ length: n }, (_, k) => from[Math.floor((k * from.length) / n)]);
    const heldX = toModel(cache, pick(held));
    const trainX = toModel(cache, pick(train));
    // measuring the training subset itself reproduces the floor, and its SWD is the bench's pixelSwd
    const atFloor = probe.measure(trainX);
    expect(atFloor.swd).toBeCloseTo(atFloor.floorSwd, 12);
    expect(atFloor.mmd).toBeCloseTo(atFloor.floorMmd, 12);
    expect(atFloor.floorSwd).toBeCloseTo(pixelSwd(trainX, heldX, D), 12);
    // the held-out images themselves: SWD exactly 0, and MMD² below the floor
    const self = probe.measure(heldX);
    expect(self.swd).toBe(0);
    expect(self.mmd).toBeLessThan(self.floorMmd);
    // noise: far above the floor on both
    const noise = probe.measure(normals(5, 0, n * D));
    expect(noise.swd).toBeGreaterThan(noise.floorSwd);
    expect(noise.mmd).toBeGreaterThan(noise.floorMmd);
    // MMD² of the same features with the median-heuristic bandwidth orders the same way (sanity of the fixed bandwidth)
    expect(kernelMmd2(normals(5, 0, n * D), heldX, D)).toBeGreaterThan(kernelMmd2(trainX, heldX, D));
  });

  it('says what is wrong with samples of the wrong size', () => {
    const probe = HeldOutProbe.fromCache(ramps(30), Array.from({ length: 15 }, (_, i) => i))!;
    expect(() => probe.measure(new Float32Array(D))).toThrow(/expected \d+ images of 192 values, got 192 values/);
  });
});
