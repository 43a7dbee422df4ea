/**
 * One image → the training pixels at `size` x `size` and a thumbnail.
 *
 * Pipeline: strict full decode (EXIF orientation applied; greyscale, CMYK, 16-bit and
 * ICC-tagged input converted to 8-bit sRGB; alpha flattened onto the background colour), then
 * from those full-resolution pixels a resize so the short side is `size` followed by a centre
 * crop (`crop: 'center'`), or a resize so the long side is `size` padded with the background
 * (`crop: 'fit'`). Downscaling uses Lanczos-3; upscaling (a source smaller than `size`) uses
 * Mitchell-Netravali, which does not ring like Lanczos does when enlarging. Resizing from the
 * fully decoded pixels (rather than letting libvips shrink-on-load the JPEG) keeps one strict
 * decode for validation and both outputs, and gives the better kernel the whole image.
 */
import sharp, { type Sharp } from 'sharp';
import { DatasetError } from './errors';
import { checkImageBytes, DEFAULT_LIMITS, decodeStrict, sha256Hex, type ImportLimits } from './inspect';
import { readFileChecked } from './scan';
import type { ImageFormat } from './sniff';

export type CropMode = 'center' | 'fit';

export interface PrepareOptions {
  /** training resolution: a power of two from 8 to 256 */
  size: number;
  /** colour that replaces transparency, `#rrggbb` (default `#ffffff`) */
  background?: string;
  /** `center` (default): fill the square and crop the middle; `fit`: whole image, padded */
  crop?: CropMode;
  /** thumbnail edge in pixels (default 64, 16–512) */
  thumbSize?: number;
  limits?: Partial<ImportLimits>;
  /** used in messages and for sniffing hints only */
  name?: string;
}

export interface PreparedImage {
  /** size*size*3 bytes, 8-bit sRGB, HWC, row-major */
  rgb: Uint8Array;
  /** PNG of the same framing at `thumbSize` */
  thumbPng: Buffer;
  /** source dimensions as displayed (after EXIF orientation) */
  width: number;
  height: number;
  format: ImageFormat;
  /** sha256 (hex) of the source file's bytes */
  sha256: string;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export const MIN_SIZE = 8;
export const MAX_SIZE = 256;
export const DEFAULT_THUMB_SIZE = 64;

/** Returns `size` or throws `DatasetError('invalid_option')`. */
export function validateSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE || (size & (size - 1)) !== 0)
    throw new DatasetError(
      'invalid_option',
      `Image size must be a power of two from ${MIN_SIZE} to ${MAX_SIZE} (for example 32 or 64); got ${JSON.stringify(size)}.`,
    );
  return size;
}

/** Parses `#rrggbb` (any case) or throws `DatasetError('invalid_option')`. */
export function parseBackground(background: unknown): { hex: string; rgb: Rgb } {
  if (typeof background !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(background))
    throw new DatasetError(
      'invalid_option',
      `Background colour must be written #rrggbb (for example #ffffff for white, #000000 for black); got ${JSON.stringify(background)}.`,
    );
  const n = Number.parseInt(background.slice(1), 16);
  return { hex: background.toLowerCase(), rgb: { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 } };
}

function validateCrop(crop: unknown): CropMode {
  if (crop !== 'center' && crop !== 'fit')
    throw new DatasetError('invalid_option', `Crop must be "center" or "fit"; got ${JSON.stringify(crop)}.`);
  return crop;
}

function validateThumb(t: unknown): number {
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 16 || t > 512)
    throw new DatasetError('invalid_option', `Thumbnail size must be a whole number of pixels from 16 to 512; got ${JSON.stringify(t)}.`);
  return t;
}

export interface ResolvedPrepareOptions {
  size: number;
  background: { hex: string; rgb: Rgb };
  crop: CropMode;
  thumbSize: number;
  limits: ImportLimits;
}

/** Validates and fills in defaults; throws `DatasetError('invalid_option')`. */
export function resolvePrepareOptions(opts: PrepareOptions): ResolvedPrepareOptions {
  if (!opts || typeof opts !== 'object') throw new DatasetError('invalid_option', 'Options with at least a size are required, e.g. {size: 32}.');
  return {
    size: validateSize(opts.size),
    background: parseBackground(opts.background ?? '#ffffff'),
    crop: validateCrop(opts.crop ?? 'center'),
    thumbSize: validateThumb(opts.thumbSize ?? DEFAULT_THUMB_SIZE),
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
  };
}

function resizer(src: { data: Buffer; width: number; height: number }, edge: number, o: ResolvedPrepareOptions): Sharp {
  const { width: w, height: h } = src;
  const img = sharp(src.data, { raw: { width: w, height: h, channels: 3 } });
  if (o.crop === 'center') {
    // Cut the centred square first, then resize it: the same framing as fit 'cover', without a
    // huge intermediate for extreme aspect ratios (a 1 x 40000 strip would become 32 x 1280000).
    const s = Math.min(w, h);
    const kernel = edge <= s ? 'lanczos3' : 'mitchell';
    return img
      .extract({ left: Math.floor((w - s) / 2), top: Math.floor((h - s) / 2), width: s, height: s })
      .resize(edge, edge, { fit: 'fill', kernel });
  }
  const kernel = edge <= Math.max(w, h) ? 'lanczos3' : 'mitchell';
  return img.resize(edge, edge, { fit: 'contain', position: 'centre', kernel, background: o.background.rgb });
}

/** Internal: prepare from bytes already read, with resolved options. */
export async function prepareBytes(data: Uint8Array, o: ResolvedPrepareOptions, name?: string): Promise<PreparedImage> {
  const info = await checkImageBytes(data, name, o.limits);
  const decoded = await decodeStrict(data, info.format, o.background.rgb);
  const { data: rgb, info: ri } = await resizer(decoded, o.size, o).raw().toBuffer({ resolveWithObject: true });
  if (ri.width !== o.size || ri.height !== o.size || ri.channels !== 3) throw new Error(`resize produced ${ri.width}x${ri.height}x${ri.channels}`);
  const thumbPng = await resizer(decoded, o.thumbSize, o).png({ compressionLevel: 9 }).toBuffer();
  return {
    rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength),
    thumbPng,
    width: decoded.width,
    height: decoded.height,
    format: info.format,
    sha256: sha256Hex(data),
  };
}

/**
 * Prepares one image (a file path or its bytes). Throws `DatasetError` with an import code
 * (`empty`, `unsupported`, `corrupt`, `too_large`, `unreadable`) for a bad image, or
 * `invalid_option` for bad options.
 */
export async function prepareImage(input: string | Uint8Array, opts: PrepareOptions): Promise<PreparedImage> {
  const o = resolvePrepareOptions(opts);
  const data = typeof input === 'string' ? await readFileChecked(input, o.limits) : input;
  return prepareBytes(data, o, opts.name ?? (typeof input === 'string' ? input : undefined));
}
