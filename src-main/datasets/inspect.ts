/**
 * Per-file checks shared by scan, prepare and import: size limits, content sniffing, structure,
 * header, and the full decode that proves the pixels are all there.
 *
 * Why a full decode: sharp/libvips decode lazily and leniently. `metadata()` reads only the
 * header, and a JPEG resized with shrink-on-load can come back "fine" with a grey band where the
 * data was cut off. Decoding every pixel at full resolution with `failOn: 'error'` makes
 * libjpeg's "premature end", libpng's read errors, and giflib/libwebp/libtiff truncation errors
 * fatal. We do not use `failOn: 'warning'`: real files from art tools carry harmless warnings
 * (e.g. libpng "iCCP: known incorrect sRGB profile") and would be refused for nothing.
 * PNG additionally must reach its IEND chunk (a cheap chunk walk) and WebP must hold the bytes
 * its RIFF header announces, so a file that ends early is reported as such even when the cut falls
 * after the last pixel row (PNG) or the decoder only says "unable to parse" (WebP).
 */
import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { DatasetError } from './errors';
import { formatLabel, sniff, type ImageFormat } from './sniff';

export interface ImportLimits {
  /** largest file accepted, in bytes (default 64 MiB) */
  maxBytes: number;
  /** largest image accepted, in pixels of the first frame (default 50 megapixels) */
  maxPixels: number;
}

export const DEFAULT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxPixels: 50_000_000,
});

export interface ImageInfo {
  format: ImageFormat;
  /** width and height as displayed, i.e. after EXIF orientation */
  width: number;
  height: number;
  hasAlpha: boolean;
}

const SHARP_FORMAT: Record<ImageFormat, string> = {
  png: 'png',
  jpeg: 'jpeg',
  gif: 'gif',
  webp: 'webp',
  tiff: 'tiff',
  avif: 'heif',
};

const AGAIN = 'Export or copy the image again from its source, or remove it from the folder.';

export function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `DatasetError('too_large')` when a file of `bytes` bytes exceeds the limit. */
export function checkFileSize(bytes: number, limits: ImportLimits): void {
  if (bytes === 0) throw new DatasetError('empty', 'empty file (0 bytes). Copy the image again from its source, or remove it from the folder.');
  if (bytes > limits.maxBytes)
    throw new DatasetError(
      'too_large',
      `file is too large (${mb(bytes)}; the limit is ${mb(limits.maxBytes)}). Save a smaller version (for example at most 4096 px on the long side) and import again.`,
    );
}

/** True when a PNG's chunk sequence reaches IEND within the data. */
export function pngHasEnd(data: Uint8Array): boolean {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = 8;
  while (o + 8 <= data.length) {
    const len = view.getUint32(o);
    if (data[o + 4] === 0x49 && data[o + 5] === 0x45 && data[o + 6] === 0x4e && data[o + 7] === 0x44) return true; // IEND
    o += 12 + len;
  }
  return false;
}

/** True when a RIFF (WebP) file holds at least the bytes its header announces. */
export function riffComplete(data: Uint8Array): boolean {
  if (data.length < 12) return false;
  const size = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4, true);
  return size + 8 <= data.length;
}

/** Turns a decoder error into the `corrupt` message for the user. */
export function corruptMessage(format: ImageFormat | null, err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const first = raw.split('\n')[0]!.replace(/^Input (buffer|file) (has corrupt header|contains unsupported image format):?\s*/i, '').trim();
  const label = format ? `${formatLabel(format)} ` : '';
  if (/premature end|unexpected end|truncat|ends early|bad seek|read error|out of data|end of (file|stream)|not enough data/i.test(raw))
    return `damaged or incomplete ${label}image: the data ends early (the file was probably cut off while copying or downloading). ${AGAIN}`;
  return `damaged ${label}image: it cannot be decoded (${first || 'unknown decoder error'}). ${AGAIN}`;
}

/**
 * Sniffs, checks structure and header of the bytes of one file. Throws `DatasetError` with an
 * import code (`empty`, `unsupported`, `corrupt`, `too_large`). Does not decode the pixels.
 */
export async function checkImageBytes(data: Uint8Array, name: string | undefined, limits: ImportLimits): Promise<ImageInfo> {
  checkFileSize(data.length, limits);
  const sniffed = sniff(data, name);
  if (sniffed.kind !== 'image') throw new DatasetError('unsupported', sniffed.message);
  const format = sniffed.format;
  if ((format === 'png' && !pngHasEnd(data)) || (format === 'webp' && !riffComplete(data)))
    throw new DatasetError('corrupt', `damaged or incomplete ${formatLabel(format)} image: the data ends early (the file was probably cut off while copying or downloading). ${AGAIN}`);
  let meta: Metadata;
  try {
    meta = await sharp(data, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (e) {
    throw new DatasetError('corrupt', corruptMessage(format, e));
  }
  if (meta.format !== SHARP_FORMAT[format])
    throw new DatasetError('corrupt', `damaged ${formatLabel(format)} image: it starts like ${formatLabel(format)} but the decoder reads it as ${meta.format ?? 'nothing it knows'}. ${AGAIN}`);
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  if (!(w > 0 && h > 0)) throw new DatasetError('corrupt', `damaged ${formatLabel(format)} image: it has no pixels (${w} x ${h}). ${AGAIN}`);
  if (w * h > limits.maxPixels)
    throw new DatasetError(
      'too_large',
      `image is too large (${w} x ${h} px, ${(w * h / 1e6).toFixed(1)} megapixels; the limit is ${(limits.maxPixels / 1e6).toFixed(0)} megapixels). Save a smaller version (for example at most 4096 px on the long side) and import again.`,
    );
  const swap = (meta.orientation ?? 1) >= 5;
  return { format, width: swap ? h : w, height: swap ? w : h, hasAlpha: meta.hasAlpha === true };
}

export interface DecodedImage {
  /** 8-bit sRGB, 3 channels, HWC, after EXIF orientation and flattening onto the background */
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Decodes every pixel of the first frame/page at full resolution, strictly. Applies EXIF
 * orientation, converts greyscale/CMYK/16-bit/ICC-tagged input to 8-bit sRGB and flattens alpha
 * onto `background`. Throws `DatasetError('corrupt')` when the data is damaged or incomplete.
 */
export async function decodeStrict(data: Uint8Array, format: ImageFormat, background: { r: number; g: number; b: number }): Promise<DecodedImage> {
  try {
    const { data: px, info } = await sharp(data, { failOn: 'error', limitInputPixels: false })
      .autoOrient()
      .flatten({ background })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || px.length !== info.width * info.height * 3)
      throw new Error(`unexpected decoded layout: ${info.width}x${info.height}x${info.channels}`);
    return { data: px, width: info.width, height: info.height };
  } catch (e) {
    throw new DatasetError('corrupt', corruptMessage(format, e));
  }
}

