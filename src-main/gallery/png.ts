/**
 * Image conversion for samples: model output (NCHW, [-1, 1]) to 8-bit RGB PNG through sharp.
 */
import sharp from 'sharp';
import type { SampleRecord } from '../api/types';
import { type A1111Extra, embedSampleMetadata } from './metadata';
import { modelToByte } from '../diffusion/pixels';

/** Image `index` of an NCHW batch in [-1, 1] -> interleaved RGB bytes (round half up, clamped). */
export function toRgbBytes(x: Float32Array, shape: readonly number[], index: number): Uint8Array {
  const [, C, H, W] = shape;
  const out = new Uint8Array(H * W * C);
  const base = index * C * H * W;
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < H * W; p++) {
      out[p * C + c] = modelToByte(x[base + c * H * W + p]);
    }
  }
  return out;
}

export async function encodePng(rgb: Uint8Array, width: number, height: number, channels = 3): Promise<Buffer> {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: channels as 3 | 4 } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * A sample's PNG with its provenance embedded: the A1111 `parameters` chunk and the `sfumato`
 * JSON chunk (see metadata.ts). Pixels are exactly `encodePng`'s.
 */
export async function encodeSamplePng(rgb: Uint8Array, width: number, height: number, record: SampleRecord, extra?: A1111Extra): Promise<Uint8Array> {
  return embedSampleMetadata(new Uint8Array(await encodePng(rgb, width, height)), record, extra);
}
