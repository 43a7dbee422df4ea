/**
 * The JPEG end-of-image check (datasets/inspect.ts jpegHasEnd) and the error wording it feeds: a
 * JPEG the decoder refuses is reported as cut off when its EOI marker is missing, whatever text
 * libvips passes through (one CI run got "Unknown error" instead of libjpeg's "premature end").
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { corruptMessage, jpegHasEnd } from '../../../src-main/datasets/inspect';

async function noiseJpeg(): Promise<Buffer> {
  const px = Buffer.alloc(32 * 24 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 251;
  return sharp(px, { raw: { width: 32, height: 24, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

describe('jpegHasEnd', () => {
  it('finds the EOI of a whole JPEG, baseline and progressive, and misses it in cut ones', async () => {
    const jpg = await noiseJpeg();
    const progressive = await sharp(jpg).jpeg({ progressive: true }).toBuffer();
    for (const j of [jpg, progressive]) {
      expect(jpegHasEnd(j)).toBe(true);
      expect(jpegHasEnd(j.subarray(0, Math.floor(j.length * 0.6)))).toBe(false);
      expect(jpegHasEnd(j.subarray(0, j.length - 1))).toBe(false);
    }
    expect(jpegHasEnd(Buffer.from('not a jpeg'))).toBe(false);
  });

  it('skips an APP segment that holds its own EOI bytes (an EXIF thumbnail) before the scan', async () => {
    const jpg = await noiseJpeg();
    // APP1 with a payload ending in FF D9, inserted after SOI; then the image is cut in its scan
    const payload = Buffer.from([0x45, 0x78, 0x69, 0x66, 0, 0, 0xff, 0xd8, 0x12, 0x34, 0xff, 0xd9]);
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, payload.length + 2]), payload]);
    const withThumb = Buffer.concat([jpg.subarray(0, 2), app1, jpg.subarray(2)]);
    expect(jpegHasEnd(withThumb)).toBe(true);
    expect(jpegHasEnd(withThumb.subarray(0, withThumb.length - 10))).toBe(false);
  });

  it('a refused JPEG without EOI is worded as cut off even when the decoder says only "Unknown error"', async () => {
    const jpg = await noiseJpeg();
    const cut = jpg.subarray(0, Math.floor(jpg.length * 0.6));
    expect(corruptMessage('jpeg', new Error('Unknown error'), cut)).toMatch(/ends early/);
    expect(corruptMessage('jpeg', new Error('Unknown error'), jpg)).toMatch(/cannot be decoded \(Unknown error\)/);
  });
});
