import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { batchNoise, dropoutMask, normal, normals, philox4x32, stepStream, uniforms } from '../../../src-main/diffusion/rng';
import { DiffusionConfigError } from '../../../src-main/diffusion/types';

const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');

describe('Philox 4x32-10', () => {
  it('matches the Random123 known-answer vectors (kat_vectors, philox4x32 R=10)', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    expect(hex(philox4x32(f, f, f, f, f, f))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });
});

describe('normal(seed, stream, index)', () => {
  it('pins golden values (float32)', () => {
    expect(Array.from(normals(42, 0, 4))).toEqual([0.8864974975585938, 0.4393560588359833, -0.15660962462425232, -0.013718678615987301]);
    expect(normal(42, 0, 2)).toBe(-0.15660962462425232);
  });

  it('is random-access: any window equals the same slice of a longer draw', () => {
    const all = normals(7, stepStream(3, 1), 101);
    expect(Array.from(normals(7, stepStream(3, 1), 50, 33))).toEqual(Array.from(all.slice(33, 83)));
    expect(normal(7, stepStream(3, 1), 100)).toBe(all[100]);
  });

  it('looks standard normal and differs across seeds and streams', () => {
    const z = normals(1, 0, 20000);
    let m = 0;
    let v = 0;
    for (const x of z) {
      m += x;
      v += x * x;
    }
    m /= z.length;
    v = v / z.length - m * m;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.04);
    expect(normal(1, 0, 0)).not.toBe(normal(2, 0, 0));
    expect(normal(1, 0, 0)).not.toBe(normal(1, 1, 0));
    const u = uniforms(3, 9, 1000);
    expect(Math.min(...u)).toBeGreaterThan(0);
    expect(Math.max(...u)).toBeLessThan(1);
  });

  it('gives the same numbers in a separate process', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const rngPath = fileURLToPath(new URL('../../../src-main/diffusion/rng.ts', import.meta.url));
    const script = `import { normals, stepStream } from ${JSON.stringify(rngPath)};
      process.stdout.write(JSON.stringify([Array.from(normals(123456789, stepStream(17, 2), 8, 1000)), Array.from(normals(2 ** 52 + 5, 0, 3))]));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: here, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([Array.from(normals(123456789, stepStream(17, 2), 8, 1000)), Array.from(normals(2 ** 52 + 5, 0, 3))]);
  });

  it('rejects bad seeds and draws', () => {
    expect(() => normal(-1, 0, 0)).toThrow(DiffusionConfigError);
    expect(() => normal(1.5, 0, 0)).toThrow(DiffusionConfigError);
    expect(() => stepStream(0, 256)).toThrow(DiffusionConfigError);
    expect(() => batchNoise([], 4)).toThrow(DiffusionConfigError);
  });
});

describe('batchNoise', () => {
  it('follows the documented stream layout and keeps each image reproducible alone', () => {
    const seeds = [5, 9, 11];
    const B = batchNoise(seeds, 6);
    const init = B.initial();
    const st = B.step(4, 1);
    expect(init.length).toBe(18);
    expect(stepStream(4, 1)).toBe(1 + 256 * 4 + 1);
    for (let b = 0; b < 3; b++) {
      const alone = batchNoise([seeds[b]], 6);
      expect(Array.from(alone.initial())).toEqual(Array.from(init.slice(6 * b, 6 * b + 6)));
      expect(Array.from(alone.step(4, 1))).toEqual(Array.from(st.slice(6 * b, 6 * b + 6)));
      expect(Array.from(init.slice(6 * b, 6 * b + 6))).toEqual(Array.from(normals(seeds[b], 0, 6)));
      expect(Array.from(st.slice(6 * b, 6 * b + 6))).toEqual(Array.from(normals(seeds[b], 1 + 256 * 4 + 1, 6)));
    }
    expect(B.step(4)).toEqual(B.step(4, 0));
  });
});

describe('dropoutMask', () => {
  it('drops each element with probability p, scales the rest by 1/(1-p), from the words of one Philox block per four elements', () => {
    const n = 200_000;
    const p = 0.3;
    const m = dropoutMask(7, 11, n, p);
    let dropped = 0;
    let other = 0;
    for (const v of m) {
      if (v === 0) dropped++;
      else if (v !== Math.fround(1 / 0.7)) other++;
    }
    expect(other).toBe(0);
    // binomial: sd = sqrt(n p (1-p)) ≈ 205; 5 sd
    expect(Math.abs(dropped - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    // element 4k+q uses word q of block k
    const w = new Uint32Array(4);
    philox4x32(3, 0, 11, 0, 7, 0, w);
    for (let q = 0; q < 4; q++) expect(m[12 + q] === 0).toBe(w[q] < p * 2 ** 32);
    // a pure function of position: an offset window repeats the tail
    expect(Array.from(dropoutMask(7, 11, 8, p, 5))).toEqual(Array.from(m.subarray(20, 28)));
    expect(Array.from(dropoutMask(7, 11, 10, 0))).toEqual(new Array(10).fill(1));
    expect(() => dropoutMask(7, 11, 4, 1)).toThrow(/dropout/);
  });
});
