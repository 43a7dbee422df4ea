import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_HEADER_BYTES, readCache, readCacheRange, selectCacheImages, toTrainingBatch, writeCache } from '../../../src-main/datasets/cache';
import { DatasetError } from '../../../src-main/datasets/errors';
import { noiseBytes } from '../../fixtures/datasets/mixed-folder';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sfumato-cache-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<DatasetError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('dataset cache', () => {
  it('round-trips pixels and header, atomically, leaving no temp files', async () => {
    const file = path.join(tmp, 'sub', 'dir', 'cache-8.bin');
    const pixels = new Uint8Array(noiseBytes(5 * 8 * 8 * 3, 3));
    await writeCache(file, { size: 8, count: 5, pixels });
    const back = await readCache(file);
    expect({ size: back.size, channels: back.channels, count: back.count }).toEqual({ size: 8, channels: 3, count: 5 });
    expect(Buffer.from(back.pixels).equals(Buffer.from(pixels))).toBe(true);
    expect((await stat(file)).size).toBe(CACHE_HEADER_BYTES + pixels.length);
    const raw = await readFile(file);
    expect(raw.toString('latin1', 0, 4)).toBe('SFDC');
    expect([raw.readUInt32LE(4), raw.readUInt32LE(8), raw.readUInt32LE(12), raw.readUInt32LE(16)]).toEqual([1, 8, 3, 5]);
    // overwrite in place
    const pixels2 = new Uint8Array(2 * 8 * 8 * 3).fill(7);
    await writeCache(file, { size: 8, count: 2, pixels: pixels2 });
    expect((await readCache(file)).count).toBe(2);
    expect(await readdir(path.dirname(file))).toEqual(['cache-8.bin']);
  });

  it('says clearly when a cache is missing, truncated, foreign, newer or damaged', async () => {
    const good = path.join(tmp, 'good.bin');
    await writeCache(good, { size: 4, count: 3, pixels: new Uint8Array(noiseBytes(3 * 4 * 4 * 3, 5)) });
    const bytes = await readFile(good);
    const variant = async (name: string, data: Buffer) => {
      const f = path.join(tmp, name);
      await writeFile(f, data);
      return rejection(readCache(f));
    };
    expect((await rejection(readCache(path.join(tmp, 'none.bin')))).message).toMatch(/missing.*Re-import/);
    expect((await variant('trunc.bin', bytes.subarray(0, bytes.length - 1))).message).toMatch(/truncated.*Re-import/);
    expect((await variant('short.bin', bytes.subarray(0, 10))).message).toMatch(/header/);
    expect((await variant('long.bin', Buffer.concat([bytes, Buffer.from([0])]))).message).toMatch(/unexpected bytes/);
    const foreign = Buffer.from(bytes);
    foreign.write('PNG!', 0, 'latin1');
    expect((await variant('foreign.bin', foreign)).message).toMatch(/not a Sfumato dataset cache/);
    const newer = Buffer.from(bytes);
    newer.writeUInt32LE(9, 4);
    expect((await variant('newer.bin', newer)).message).toMatch(/newer Sfumato/);
    const flipped = Buffer.from(bytes);
    flipped[CACHE_HEADER_BYTES + 5] ^= 0x40;
    const e = await variant('flipped.bin', flipped);
    expect(e).toMatchObject({ code: 'cache_invalid', message: expect.stringMatching(/checksum/) });
  });

  it('writes nothing when cancelled or given pixels of the wrong length', async () => {
    const file = path.join(tmp, 'cancelled.bin');
    const ac = new AbortController();
    ac.abort();
    const e = await rejection(writeCache(file, { size: 4, count: 1, pixels: new Uint8Array(48) }, { signal: ac.signal }));
    expect(e.code).toBe('cancelled');
    expect((await rejection(writeCache(file, { size: 4, count: 2, pixels: new Uint8Array(48) }))).code).toBe('invalid_option');
    // cancelled while writing: the check just before the rename removes the temp file
    let reads = 0;
    const late = { get aborted() { return reads++ > 0; } } as AbortSignal;
    expect((await rejection(writeCache(file, { size: 4, count: 1, pixels: new Uint8Array(48) }, { signal: late }))).code).toBe('cancelled');
    expect(reads).toBeGreaterThan(1);
    expect((await readdir(tmp)).filter((f) => f.includes('cancelled'))).toEqual([]);
  });

  it('builds NHWC float batches in [-1, 1]', () => {
    const size = 2;
    const per = size * size * 3;
    const pixels = new Uint8Array(3 * per);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 23) % 256;
    pixels[0] = 0;
    pixels[1] = 255;
    const batch = toTrainingBatch(pixels, [2, 0, 2], size);
    expect(batch).toBeInstanceOf(Float32Array);
    expect(batch.length).toBe(3 * per);
    for (let k = 0; k < per; k++) {
      expect(batch[k]).toBe(Math.fround(pixels[2 * per + k]! / 127.5 - 1));
      expect(batch[per + k]).toBe(Math.fround(pixels[k]! / 127.5 - 1));
      expect(batch[2 * per + k]).toBe(batch[k]);
    }
    expect(batch[per]).toBe(-1);
    expect(batch[per + 1]).toBe(1);
    expect(() => toTrainingBatch(pixels, [3], size)).toThrow(/out of range/);
    expect(() => toTrainingBatch(pixels.subarray(1), [0], size)).toThrow(/whole number/);
  });
});

describe('parts of a cache', () => {
  it('readCacheRange reads just the asked images (clamped at the end) and refuses a damaged file', async () => {
    const file = path.join(tmp, 'range', 'cache-4.bin');
    const per = 4 * 4 * 3;
    const pixels = new Uint8Array(noiseBytes(6 * per, 9));
    await writeCache(file, { size: 4, count: 6, pixels });
    const page = await readCacheRange(file, 2, 3);
    expect({ size: page.size, count: page.count, offset: page.offset, total: page.total }).toEqual({ size: 4, count: 3, offset: 2, total: 6 });
    expect(Buffer.from(page.pixels).equals(Buffer.from(pixels.subarray(2 * per, 5 * per)))).toBe(true);
    expect((await readCacheRange(file, 5, 10)).count).toBe(1);
    expect((await readCacheRange(file, 9, 10)).count).toBe(0);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 1));
    expect((await rejection(readCacheRange(file, 0, 1))).code).toBe('cache_invalid');
  });

  it('selectCacheImages keeps the chosen images in the given order and refuses bad or repeated indices', () => {
    const per = 2 * 2 * 3;
    const cache = { size: 2, channels: 3, count: 4, pixels: new Uint8Array(4 * per).map((_, i) => Math.floor(i / per)) };
    const sub = selectCacheImages(cache, [3, 0]);
    expect(sub.count).toBe(2);
    expect([...sub.pixels]).toEqual([...Array(per).fill(3), ...Array(per).fill(0)]);
    expect(() => selectCacheImages(cache, [4])).toThrow(/not a distinct image/);
    expect(() => selectCacheImages(cache, [1, 1])).toThrow(/not a distinct image/);
  });
});
