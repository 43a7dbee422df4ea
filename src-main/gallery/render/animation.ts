/** Frames: the denoising animation and the interpolation strip (moved whole from gallery/export.ts; its file comment has the safety rules). */
import sharp from 'sharp';
import { checkAborted } from '../atomic';
import { encodePng } from '../png';
import { ExportError } from '../export/names';
import type { ExportProgress } from '../export/manifest';

// ------------------------------------------------------------------ frames: animation and strip

function checkFrames(frames: readonly Uint8Array[], width: number, height: number): void {
  if (!Array.isArray(frames) || frames.length === 0) throw new ExportError('bad_input', 'No frames.');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 4096 || height > 4096) {
    throw new ExportError('bad_input', `Bad frame size ${width}x${height}.`);
  }
  frames.forEach((f, i) => {
    if (!(f instanceof Uint8Array) || f.length !== width * height * 3) {
      throw new ExportError('bad_input', `Frame ${i} must be ${width}x${height} RGB (${width * height * 3} bytes), got ${f?.length ?? typeof f}.`);
    }
  });
}

function intScale(scale: number | undefined): number {
  const s = Math.floor(scale ?? 1);
  if (!Number.isFinite(s) || s < 1 || s > 64) throw new ExportError('bad_input', `scale must be an integer from 1 to 64 (got ${scale}).`);
  return s;
}

/** Nearest-neighbour integer upscale (factor `s`) of one RGB frame into `out` (row stride `outStride` pixels) at (x0, y0). */
function upscaleInto(src: Uint8Array, w: number, h: number, s: number, out: Uint8Array, outStride: number, x0: number, y0: number): void {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const si = (y * w + x) * 3;
      for (let dy = 0; dy < s; dy++) {
        let o = ((y0 + y * s + dy) * outStride + x0 + x * s) * 3;
        for (let dx = 0; dx < s; dx++, o += 3) {
          out[o] = src[si];
          out[o + 1] = src[si + 1];
          out[o + 2] = src[si + 2];
        }
      }
    }
  }
}

export interface AnimationOptions {
  format: 'gif' | 'webp';
  /** delay per frame in ms (default 100); `lastFrameDelayMs` holds the final image longer */
  delayMs?: number;
  lastFrameDelayMs?: number;
  /** integer nearest-neighbour upscale (default 1) */
  scale?: number;
  /** 0 = loop forever (default) */
  loop?: number;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
}

const MAX_ANIMATION_BYTES = 512 * 1024 * 1024;

/**
 * An animated GIF or WebP of a denoising trajectory (predicted x0 or x_t per step), frames as
 * interleaved RGB. The frames are stacked into one tall raw image with `pageHeight`, which sharp
 * encodes as pages of an animation. WebP is lossless; GIF is palette-quantised by libvips/cgif.
 */
export async function denoisingAnimation(frames: readonly Uint8Array[], width: number, height: number, opts: AnimationOptions): Promise<Uint8Array> {
  checkFrames(frames, width, height);
  const s = intScale(opts.scale);
  const W = width * s;
  const H = height * s;
  const total = W * H * 3 * frames.length;
  if (total > MAX_ANIMATION_BYTES) throw new ExportError('too_large', 'Too many or too large frames; lower the scale or the frame count.');
  const delay = Math.max(10, Math.min(60_000, Math.round(opts.delayMs ?? 100)));
  const delays = frames.map((_, i) => (i === frames.length - 1 && opts.lastFrameDelayMs !== undefined ? Math.max(10, Math.min(60_000, Math.round(opts.lastFrameDelayMs))) : delay));
  const tall = new Uint8Array(total);
  for (let i = 0; i < frames.length; i++) {
    checkAborted(opts.signal);
    upscaleInto(frames[i], width, height, s, tall, W, 0, i * H);
    opts.onProgress?.({ phase: 'images', done: i + 1, total: frames.length });
  }
  checkAborted(opts.signal);
  const img = sharp(Buffer.from(tall.buffer, tall.byteOffset, tall.byteLength), { raw: { width: W, height: H * frames.length, channels: 3, pageHeight: H } });
  const loop = Math.max(0, Math.min(65_535, Math.floor(opts.loop ?? 0)));
  const out = opts.format === 'gif' ? await img.gif({ loop, delay: delays }).toBuffer() : await img.webp({ lossless: true, loop, delay: delays }).toBuffer();
  checkAborted(opts.signal);
  return new Uint8Array(out);
}

export interface StripOptions {
  scale?: number;
  /** pixels between frames (default 0) */
  gap?: number;
  /** gap colour as [r, g, b] (default white) */
  background?: [number, number, number];
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
}

/** Interpolation frames side by side as one PNG (a "video-like" strip). */
export async function interpolationStrip(frames: readonly Uint8Array[], width: number, height: number, opts: StripOptions = {}): Promise<Uint8Array> {
  checkFrames(frames, width, height);
  const s = intScale(opts.scale);
  const gap = Math.max(0, Math.min(256, Math.floor(opts.gap ?? 0)));
  const W = frames.length * width * s + (frames.length - 1) * gap;
  const H = height * s;
  if (W * H * 3 > MAX_ANIMATION_BYTES || W > 65_535) throw new ExportError('too_large', 'The strip would be too large; lower the scale or the frame count.');
  const out = new Uint8Array(W * H * 3);
  const [r, g, b] = opts.background ?? [255, 255, 255];
  if (gap > 0) for (let p = 0; p < W * H; p++) (out[p * 3] = r), (out[p * 3 + 1] = g), (out[p * 3 + 2] = b);
  for (let i = 0; i < frames.length; i++) {
    checkAborted(opts.signal);
    upscaleInto(frames[i], width, height, s, out, W, i * (width * s + gap), 0);
    opts.onProgress?.({ phase: 'images', done: i + 1, total: frames.length });
  }
  checkAborted(opts.signal);
  return new Uint8Array(await encodePng(out, W, H));
}
