import { describe, expect, it } from 'vitest';
import { normals } from '../../../src-main/diffusion/index';
import { byteToModel } from '../../../src-main/diffusion/pixels';
import { MAX_REFERENCE, MemorisationProbe, nchwToNhwc } from '../../../src-main/training/memorisation';
import type { TrainingData } from '../../../src-main/training/trainer';

const S = 4;
const D = S * S * 3;

function dataset(count: number): TrainingData {
  const pixels = new Uint8Array(count * D);
  // image i: a flat colour plus a per-image pattern, so nearest neighbours are well defined
  for (let i = 0; i < count; i++) for (let k = 0; k < D; k++) pixels[i * D + k] = (i * 41 + k * 7 + ((i * k) % 13) * 5) % 256;
  return { pixels, count, size: S, channels: 3 };
}
const asModel = (data: TrainingData, i: number) => Float32Array.from(data.pixels.subarray(i * D, (i + 1) * D), byteToModel);

describe('memorisation probe', () => {
  it('training images themselves read as copies: ratio 0, every sample closer than typical', () => {
    const data = dataset(20);
    const probe = MemorisationProbe.fromData(data)!;
    const samples = new Float32Array(3 * D);
    [2, 7, 11].forEach((img, b) => samples.set(asModel(data, img), b * D));
    expect(probe.measure(samples)).toEqual({ nnRatio: 0, copyShare: 1 });
  });

  it('samples far from every training image read as new: ratio above 1, no near-copies', () => {
    const probe = MemorisationProbe.fromData(dataset(20))!;
    const far = Float32Array.from(normals(3, 1, 4 * D), (v) => 3 * v);
    const s = probe.measure(far);
    expect(s.nnRatio).toBeGreaterThan(1);
    expect(s.copyShare).toBe(0);
  });

  it('a slightly perturbed training image sits between: ratio = its offset over the typical NN distance', () => {
    const data = dataset(20);
    const probe = MemorisationProbe.fromData(data)!;
    const x = asModel(data, 5);
    const off = 0.01;
    x[0] += off;
    // the nearest image is image 5 itself, at distance `off`
    expect(probe.measure(x).nnRatio).toBeCloseTo(off / probe.trainNnMedian, 6);
  });

  it('compares with at most MAX_REFERENCE images and needs two', () => {
    expect(MemorisationProbe.fromData(dataset(1))).toBeUndefined();
    expect(MemorisationProbe.fromData(dataset(MAX_REFERENCE + 40))).toBeDefined();
    expect(() => MemorisationProbe.fromData(dataset(5))!.measure(new Float32Array(D + 1))).toThrow(/whole images/);
  });

  it('nchwToNhwc moves channels last', () => {
    // B=1, C=3, 2x2: channel c, pixel p holds 10c + p
    const x = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
    expect(Array.from(nchwToNhwc(x, 1, 3, 2))).toEqual([0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23]);
  });
});
