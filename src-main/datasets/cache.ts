/**
 * The prepared pixels of a dataset, one file per dataset and resolution.
 *
 * Layout (little-endian), version 1:
 *   0  4  magic "SFDC"
 *   4  4  u32 version (1)
 *   8  4  u32 size (image edge in pixels)
 *  12  4  u32 channels (3: RGB)
 *  16  4  u32 count (images)
 *  20  4  u32 CRC-32 of the pixel bytes
 *  24  8  reserved (zero)
 *  32  …  count * size * size * channels bytes: uint8, NHWC, images in dataset item order
 *
 * Written atomically (temp file in the same folder, fsync, rename), so a reader sees the previous
 * cache or the complete new one; the CRC catches a file damaged later on disk.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { DatasetError, throwIfAborted } from './errors';
import { atomicWriteFile } from './util';
import { isId } from '../db/ids';
import { byteToModel } from '../diffusion/pixels';

export const CACHE_MAGIC = 'SFDC';
export const CACHE_VERSION = 1;
export const CACHE_HEADER_BYTES = 32;

export interface DatasetCache {
  size: number;
  channels: number;
  count: number;
  /** count * size * size * channels bytes, uint8 NHWC */
  pixels: Uint8Array;
}

export interface WriteCacheInput {
  size: number;
  count: number;
  /** default 3 */
  channels?: number;
  pixels: Uint8Array;
}

function checkShape(size: number, channels: number, count: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) throw new DatasetError('invalid_option', `Cache image size must be a whole number from 1 to 4096; got ${size}.`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) throw new DatasetError('invalid_option', `Cache channels must be 1 to 4; got ${channels}.`);
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw new DatasetError('invalid_option', `Cache image count must be a whole number >= 0; got ${count}.`);
}

/** Bytes of a cache file holding `count` images. */
export function cacheByteLength(size: number, count: number, channels = 3): number {
  return CACHE_HEADER_BYTES + count * size * size * channels;
}

/** Writes the cache atomically (creating the folder). With a fired `signal` nothing is written. */
export async function writeCache(file: string, input: WriteCacheInput, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const channels = input.channels ?? 3;
  checkShape(input.size, channels, input.count);
  const expected = input.count * input.size * input.size * channels;
  if (!(input.pixels instanceof Uint8Array) || input.pixels.length !== expected)
    throw new DatasetError(
      'invalid_option',
      `Cache pixels must be ${expected} bytes (${input.count} x ${input.size} x ${input.size} x ${channels}); got ${input.pixels?.length}.`,
    );
  const what = `Writing the dataset cache ${file}`;
  throwIfAborted(opts.signal, what);
  const header = Buffer.alloc(CACHE_HEADER_BYTES);
  header.write(CACHE_MAGIC, 0, 'latin1');
  header.writeUInt32LE(CACHE_VERSION, 4);
  header.writeUInt32LE(input.size, 8);
  header.writeUInt32LE(channels, 12);
  header.writeUInt32LE(input.count, 16);
  header.writeUInt32LE(crc32(input.pixels) >>> 0, 20);
  await mkdir(path.dirname(file), { recursive: true });
  await atomicWriteFile(file, [header, input.pixels], () => throwIfAborted(opts.signal, what));
}

/** "Dataset ds_x's cache /…/cache-32.bin" when the file sits in a library dataset folder. */
function cacheLabel(file: string): { what: string; redo: string } {
  const id = path.basename(path.dirname(file));
  return isId('ds', id)
    ? { what: `The prepared cache of dataset ${id} (${file})`, redo: `Re-import the dataset (remove ${id}, then sfumato datasets import its folder again) to rebuild it.` }
    : { what: `Dataset cache ${file}`, redo: 'Re-import the dataset to rebuild it.' };
}

function damaged(file: string, why: string): DatasetError {
  const l = cacheLabel(file);
  return new DatasetError('cache_invalid', `${l.what} is damaged (${why}). ${l.redo}`);
}

/** Opens a cache file for reading; a missing or unreadable one is a `cache_invalid` error that says what to do. */
async function openCache(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (e) {
    const l = cacheLabel(file);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError('cache_invalid', `${l.what} is missing. ${l.redo}`);
    throw new DatasetError('cache_invalid', `${l.what} cannot be read (${code ?? (e as Error).message}). Check its permissions and the disk.`);
  }
}

/**
 * Reads and verifies a cache file; throws `DatasetError('cache_invalid')` saying what is wrong and
 * naming the dataset. The header is read first and the file's size checked against it before any
 * pixels are read, so a truncated or oversized file (a stray multi-gigabyte one included) is
 * refused without reading it into memory.
 */
export async function readCache(file: string): Promise<DatasetCache> {
  const l = cacheLabel(file);
  const fh = await openCache(file);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw damaged(file, 'it is not a regular file');
    const head = Buffer.alloc(CACHE_HEADER_BYTES);
    const got = st.size >= CACHE_HEADER_BYTES ? (await fh.read(head, 0, CACHE_HEADER_BYTES, 0)).bytesRead : st.size;
    if (got < CACHE_HEADER_BYTES) throw damaged(file, `only ${st.size} bytes, shorter than its ${CACHE_HEADER_BYTES}-byte header`);
    if (head.toString('latin1', 0, 4) !== CACHE_MAGIC) throw damaged(file, 'it is not a Sfumato dataset cache: wrong magic bytes');
    const version = head.readUInt32LE(4);
    if (version !== CACHE_VERSION)
      throw new DatasetError(
        'cache_invalid',
        version > CACHE_VERSION
          ? `${l.what} was written by a newer Sfumato (format ${version}; this one reads ${CACHE_VERSION}). Update Sfumato or re-import the dataset.`
          : `${l.what} has an old format (${version}). ${l.redo}`,
      );
    const size = head.readUInt32LE(8);
    const channels = head.readUInt32LE(12);
    const count = head.readUInt32LE(16);
    const crc = head.readUInt32LE(20);
    if (size < 1 || size > 4096 || channels < 1 || channels > 4) throw damaged(file, `impossible header: size ${size}, channels ${channels}`);
    const expected = cacheByteLength(size, count, channels);
    if (st.size < expected) throw damaged(file, `truncated: ${st.size} bytes, expected ${expected} for ${count} images of ${size}x${size}x${channels}`);
    if (st.size > expected) throw damaged(file, `${st.size - expected} unexpected bytes after the last image`);
    const pixels = new Uint8Array(expected - CACHE_HEADER_BYTES);
    let off = 0;
    while (off < pixels.length) {
      const { bytesRead } = await fh.read(pixels, off, pixels.length - off, CACHE_HEADER_BYTES + off);
      if (bytesRead === 0) throw damaged(file, `truncated while reading: ${CACHE_HEADER_BYTES + off} bytes, expected ${expected}`);
      off += bytesRead;
    }
    if ((crc32(pixels) >>> 0) !== crc) throw damaged(file, 'checksum mismatch: the pixel data changed after it was written');
    return { size, channels, count, pixels };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Gathers images `indices` of `pixels` (uint8 NHWC, `size` x `size` x `channels` each) into one
 * float batch, NHWC, scaled to [-1, 1] as x / 127.5 - 1.
 */
export function toTrainingBatch(pixels: Uint8Array, indices: ArrayLike<number>, size: number, channels = 3): Float32Array {
  const per = size * size * channels;
  if (!Number.isInteger(size) || size < 1 || per === 0 || pixels.length % per !== 0)
    throw new DatasetError('invalid_option', `Pixels (${pixels.length} bytes) are not a whole number of ${size}x${size}x${channels} images.`);
  const count = pixels.length / per;
  const out = new Float32Array(indices.length * per);
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n]!;
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new DatasetError('invalid_option', `Image index ${i} is out of range (the cache holds ${count} images).`);
    const src = i * per;
    const dst = n * per;
    for (let k = 0; k < per; k++) out[dst + k] = byteToModel(pixels[src + k]!);
  }
  return out;
}

/**
 * Reads images `offset` .. `offset + count - 1` of a cache file (fewer at the end) without reading
 * the rest: the header is checked and the file's size matched against it as in {@link readCache},
 * but the checksum (which covers every pixel) is not, so a page of a big dataset costs only its own
 * bytes. For display only; training reads the whole verified cache.
 */
export async function readCacheRange(file: string, offset: number, count: number): Promise<DatasetCache & { offset: number; total: number }> {
  const fh = await openCache(file);
  try {
    const st = await fh.stat();
    const head = Buffer.alloc(CACHE_HEADER_BYTES);
    const got = st.isFile() && st.size >= CACHE_HEADER_BYTES ? (await fh.read(head, 0, CACHE_HEADER_BYTES, 0)).bytesRead : 0;
    if (got < CACHE_HEADER_BYTES || head.toString('latin1', 0, 4) !== CACHE_MAGIC || head.readUInt32LE(4) !== CACHE_VERSION)
      throw damaged(file, 'its header is not that of a Sfumato dataset cache of this version');
    const size = head.readUInt32LE(8);
    const channels = head.readUInt32LE(12);
    const total = head.readUInt32LE(16);
    if (size < 1 || size > 4096 || channels < 1 || channels > 4) throw damaged(file, `impossible header: size ${size}, channels ${channels}`);
    if (st.size !== cacheByteLength(size, total, channels)) throw damaged(file, `${st.size} bytes, expected ${cacheByteLength(size, total, channels)}`);
    const first = Math.min(Math.max(0, Math.floor(offset)), total);
    const n = Math.max(0, Math.min(Math.floor(count), total - first));
    const per = size * size * channels;
    const pixels = new Uint8Array(n * per);
    let off = 0;
    while (off < pixels.length) {
      const { bytesRead } = await fh.read(pixels, off, pixels.length - off, CACHE_HEADER_BYTES + first * per + off);
      if (bytesRead === 0) throw damaged(file, 'truncated while reading');
      off += bytesRead;
    }
    return { size, channels, count: n, pixels, offset: first, total };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * A cache holding only images `indices` of `cache`, in that order (the images a run trains on when
 * some were excluded). Throws for an index outside the cache or a repeated one.
 */
export function selectCacheImages(cache: DatasetCache, indices: readonly number[]): DatasetCache {
  const per = cache.size * cache.size * cache.channels;
  const seen = new Set<number>();
  const pixels = new Uint8Array(indices.length * per);
  indices.forEach((i, n) => {
    if (!Number.isInteger(i) || i < 0 || i >= cache.count || seen.has(i))
      throw new DatasetError('invalid_option', `Image index ${i} is not a distinct image of the cache (it holds ${cache.count}). Start a new run on the dataset.`);
    seen.add(i);
    pixels.set(cache.pixels.subarray(i * per, (i + 1) * per), n * per);
  });
  return { size: cache.size, channels: cache.channels, count: indices.length, pixels };
}
