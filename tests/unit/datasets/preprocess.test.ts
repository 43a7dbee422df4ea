import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../../src-main/datasets/errors';
import { parseBackground, prepareImage, validateSize } from '../../../src-main/datasets/preprocess';
import { halfTransparentPng, noiseImage, rawImage, rotatedJpeg } from '../../fixtures/datasets/mixed-folder';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sfumato-prep-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const px = (rgb: Uint8Array, size: number, y: number, x: number) => Array.from(rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));
const near = (a: number[], b: number[], tol = 3) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

async function rejection(p: Promise<unknown>): Promise<DatasetError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('prepareImage', () => {
  it('fills transparent pixels with white by default, never with the colour hidden under alpha', async () => {
    const src = await halfTransparentPng(40, 30);
    const out = await prepareImage(src, { size: 16 });
    expect(out.rgb).toBeInstanceOf(Uint8Array);
    expect(out.rgb.length).toBe(16 * 16 * 3);
    expect({ w: out.width, h: out.height, f: out.format }).toEqual({ w: 40, h: 30, f: 'png' });
    // centre crop of a 40x30 source: the left columns are red, the right columns were transparent
    for (let y = 0; y < 16; y++) {
      expect(near(px(out.rgb, 16, y, 0), [255, 0, 0])).toBe(true);
      expect(near(px(out.rgb, 16, y, 15), [255, 255, 255])).toBe(true);
    }
    // red over white mixes only along the edge: green always equals blue (no hidden green leaks)
    for (let i = 0; i < out.rgb.length; i += 3) expect(Math.abs(out.rgb[i + 1]! - out.rgb[i + 2]!)).toBeLessThanOrEqual(2);
  });

  it('uses the background colour given', async () => {
    const out = await prepareImage(await halfTransparentPng(40, 30), { size: 16, background: '#102030' });
    expect(near(px(out.rgb, 16, 8, 15), [0x10, 0x20, 0x30])).toBe(true);
    const thumb = await sharp(out.thumbPng).raw().toBuffer({ resolveWithObject: true });
    expect(thumb.info).toMatchObject({ width: 64, height: 64, channels: 3 });
    expect(near(Array.from(thumb.data.subarray((32 * 64 + 63) * 3, (32 * 64 + 63) * 3 + 3)), [0x10, 0x20, 0x30])).toBe(true);
  });

  it('keeps the exact pixels, HWC, when no resize is needed; hashes the source bytes', async () => {
    const raw = Buffer.alloc(8 * 8 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 29) % 256;
    const png = await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
    const out = await prepareImage(png, { size: 8, thumbSize: 16 });
    expect(Buffer.from(out.rgb).equals(raw)).toBe(true);
    expect(out.sha256).toBe(createHash('sha256').update(png).digest('hex'));
    expect((await sharp(out.thumbPng).metadata())).toMatchObject({ format: 'png', width: 16, height: 16 });
  });

  it('honours EXIF orientation', async () => {
    const out = await prepareImage(await rotatedJpeg(), { size: 16 });
    expect({ w: out.width, h: out.height }).toEqual({ w: 20, h: 40 });
    // shown 20x40 with the black half on top; the centre crop keeps rows 8..24 of 0..32
    expect(near(px(out.rgb, 16, 1, 8), [0, 0, 0], 12)).toBe(true);
    expect(near(px(out.rgb, 16, 14, 8), [255, 255, 255], 12)).toBe(true);
  });

  it('converts greyscale, 16-bit and CMYK input to 8-bit RGB', async () => {
    const grey = await prepareImage(await rawImage(33, 17, 1, (x) => [x * 7]).png().toBuffer(), { size: 16 });
    const grey16 = await prepareImage(await rawImage(16, 16, 1, () => [200]).toColourspace('grey16').png().toBuffer(), { size: 16 });
    for (const o of [grey, grey16]) {
      expect(o.rgb.length).toBe(16 * 16 * 3);
      for (let i = 0; i < o.rgb.length; i += 3) expect(o.rgb[i] === o.rgb[i + 1] && o.rgb[i] === o.rgb[i + 2]).toBe(true);
    }
    expect(near(px(grey16.rgb, 16, 5, 5), [200, 200, 200], 2)).toBe(true);
    const cmyk = await rawImage(30, 20, 3, () => [30, 120, 200]).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const c = px((await prepareImage(cmyk, { size: 8 })).rgb, 8, 4, 4);
    expect(near(c, [30, 120, 200], 30)).toBe(true);
  });

  it("crop 'fit' keeps the whole image and pads with the background", async () => {
    const src = await rawImage(40, 20, 3, () => [200, 10, 10]).png().toBuffer();
    const out = await prepareImage(src, { size: 16, crop: 'fit', background: '#00ff00' });
    expect(near(px(out.rgb, 16, 0, 8), [0, 255, 0])).toBe(true);
    expect(near(px(out.rgb, 16, 15, 8), [0, 255, 0])).toBe(true);
    expect(near(px(out.rgb, 16, 8, 0), [200, 10, 10])).toBe(true);
    expect(near(px(out.rgb, 16, 8, 15), [200, 10, 10])).toBe(true);
  });

  it('enlarges images smaller than the target and reads files by path', async () => {
    const file = path.join(tmp, 'tiny 画像.png');
    await writeFile(file, await noiseImage(3, 5).png().toBuffer());
    const out = await prepareImage(file, { size: 32 });
    expect(out.rgb.length).toBe(32 * 32 * 3);
    expect({ w: out.width, h: out.height }).toEqual({ w: 3, h: 5 });
    // extreme aspect ratios in both framings
    for (const crop of ['center', 'fit'] as const) {
      const strip = await prepareImage(await noiseImage(1, 20000).png().toBuffer(), { size: 16, crop });
      expect(strip.rgb.length).toBe(16 * 16 * 3);
    }
  });

  it('refuses broken, empty, non-image and oversized input with an import code', async () => {
    const jpg = await noiseImage(64, 64).jpeg().toBuffer();
    const png = await noiseImage(64, 64).png().toBuffer();
    expect((await rejection(prepareImage(jpg.subarray(0, jpg.length >> 1), { size: 16 }))).code).toBe('corrupt');
    expect((await rejection(prepareImage(png.subarray(0, png.length - 30), { size: 16 }))).code).toBe('corrupt');
    expect((await rejection(prepareImage(Buffer.alloc(0), { size: 16 }))).code).toBe('empty');
    expect((await rejection(prepareImage(Buffer.from('not an image'), { size: 16 }))).code).toBe('unsupported');
    const big = await rejection(prepareImage(png, { size: 16, limits: { maxPixels: 1000 } }));
    expect(big.code).toBe('too_large');
    expect(big.message).toMatch(/64 x 64 px.*limit.*smaller/);
    expect((await rejection(prepareImage(png, { size: 16, limits: { maxBytes: 100 } }))).code).toBe('too_large');
    expect((await rejection(prepareImage(path.join(tmp, 'missing.png'), { size: 16 }))).code).toBe('unreadable');
  });

  it('validates size, background and crop with clear messages', async () => {
    for (const s of [32, 8, 256, 64]) expect(validateSize(s)).toBe(s);
    for (const s of [30, 4, 512, 32.5, '32', NaN]) {
      expect(() => validateSize(s)).toThrow(/power of two from 8 to 256/);
      const e = await rejection(prepareImage(Buffer.alloc(1), { size: s as number }));
      expect(e.code).toBe('invalid_option');
    }
    expect(parseBackground('#FFaa00')).toEqual({ hex: '#ffaa00', rgb: { r: 255, g: 170, b: 0 } });
    for (const b of ['white', '#fff', '#12345g', 'ffffff']) expect(() => parseBackground(b)).toThrow(/#rrggbb/);
    const e = await rejection(prepareImage(Buffer.alloc(1), { size: 16, crop: 'stretch' as 'fit' }));
    expect(e).toMatchObject({ code: 'invalid_option', message: expect.stringContaining('center') });
  });
});
