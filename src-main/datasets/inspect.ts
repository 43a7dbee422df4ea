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
import zlib from 'node:zlib';
import sharp, { type Metadata } from 'sharp';
import { readPngText } from '../png/chunks';
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

/** Text metadata a PNG may carry before it is refused (after inflating; per chunk and in all). */
export const PNG_TEXT_LIMITS = Object.freeze({ maxTextBytes: 1024 * 1024, maxTotalTextBytes: 8 * 1024 * 1024, maxChunks: 100_000 });
/** Largest colour profile (iCCP, after inflating) a PNG may carry; real profiles are well under 1 MB. */
export const PNG_MAX_ICC_BYTES = 16 * 1024 * 1024;

const STRIP_AND_RETRY =
  'Open it in an image editor and export it again as a new PNG without metadata (or remove the file from the folder), then import again.';

/**
 * Checks a PNG's chunks with our own capped reader before any decoder sees the file. libvips
 * inflates every text chunk (tEXt/zTXt/iTXt) and the colour profile while reading the header:
 * a 400 KB file can hold 20 zTXt chunks of 20 MB of zeros each. Text never holds pixels, so more
 * than {@link PNG_TEXT_LIMITS} of it, a compressed chunk that expands past its cap, an iCCP
 * profile above {@link PNG_MAX_ICC_BYTES} or more than 100,000 chunks make the file `too_large`,
 * with a message that says what to do. Inflating here is itself capped (zlib stops at the limit).
 */
export function checkPngChunks(data: Uint8Array): void {
  const text = readPngText(data, { limits: PNG_TEXT_LIMITS, acceptBadCrc: true });
  const bomb = text.problems.find((p) => p.code === 'inflate_limit' || p.code === 'text_too_large' || p.code === 'text_budget');
  if (bomb) {
    throw new DatasetError(
      'too_large',
      `PNG carries too much text metadata (${bomb.chunk ?? 'text'} chunks holding more than ${mb(PNG_TEXT_LIMITS.maxTextBytes)} each or ${mb(PNG_TEXT_LIMITS.maxTotalTextBytes)} in all once decompressed; pictures never need that much, and this may be a decompression bomb). ${STRIP_AND_RETRY}`,
    );
  }
  if (text.problems.some((p) => p.code === 'too_many_chunks'))
    throw new DatasetError('too_large', `PNG is split into more than ${PNG_TEXT_LIMITS.maxChunks.toLocaleString('en-US')} chunks, far more than any picture needs. ${STRIP_AND_RETRY}`);
  const iccp = text.chunks.chunks.find((c) => c.type === 'iCCP');
  if (iccp) {
    // §11.3.3.3: profile name (1-79 bytes), null, compression method (0), zlib datastream.
    const nul = iccp.data.subarray(0, 80).indexOf(0);
    if (nul >= 0 && iccp.data.length > nul + 2) {
      try {
        zlib.inflateSync(iccp.data.subarray(nul + 2), { maxOutputLength: PNG_MAX_ICC_BYTES });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err?.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
          throw new DatasetError('too_large', `PNG colour profile (iCCP) expands to more than ${mb(PNG_MAX_ICC_BYTES)}; real profiles are well under 1 MB, so this may be a decompression bomb. ${STRIP_AND_RETRY}`);
        // a broken profile is the decoder's to judge (it reports a damaged file)
      }
    }
  }
}

/**
 * True when a JPEG reaches its end-of-image marker: the segments are walked from SOI to the first
 * start-of-scan (so an EXIF thumbnail's own markers inside APP1 are skipped whole), then FF D9 is
 * looked for in the rest (entropy-coded data never holds it: a data byte FF is stuffed as FF 00).
 * Used only to word the error once the decoder has refused the file: libvips does not always pass
 * libjpeg's "premature end" through (seen once in a full CI run as "Unknown error"; the cause
 * inside libvips was not pinned down), and a missing EOI says the same thing.
 */
export function jpegHasEnd(data: Uint8Array): boolean {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return false;
  let o = 2;
  while (o + 4 <= data.length) {
    if (data[o] !== 0xff) return false;
    const m = data[o + 1];
    if (m === 0xff) {
      o++; // fill byte
      continue;
    }
    if (m === 0xd9) return true;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2; // standalone markers
      continue;
    }
    const end = o + 2 + ((data[o + 2] << 8) | data[o + 3]);
    if (m === 0xda) {
      for (let i = end; i + 1 < data.length; i++) if (data[i] === 0xff && data[i + 1] === 0xd9) return true;
      return false;
    }
    o = end;
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
export function corruptMessage(format: ImageFormat | null, err: unknown, data?: Uint8Array): string {
  const raw = err instanceof Error ? err.message : String(err);
  const first = raw.split('\n')[0]!.replace(/^Input (buffer|file) (has corrupt header|contains unsupported image format):?\s*/i, '').trim();
  const label = format ? `${formatLabel(format)} ` : '';
  const cutJpeg = format === 'jpeg' && data !== undefined && !jpegHasEnd(data);
  if (cutJpeg || /premature end|unexpected end|truncat|ends early|bad seek|read error|out of data|end of (file|stream)|not enough data/i.test(raw))
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
  if (format === 'png') checkPngChunks(data);
  let meta: Metadata;
  try {
    meta = await sharp(data, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (e) {
    throw new DatasetError('corrupt', corruptMessage(format, e, data));
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
    throw new DatasetError('corrupt', corruptMessage(format, e, data));
  }
}

