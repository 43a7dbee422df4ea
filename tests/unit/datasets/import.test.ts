import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCache } from '../../../src-main/datasets/cache';
import { DatasetError } from '../../../src-main/datasets/errors';
import { importFolder } from '../../../src-main/datasets/import';
import { prepareImage } from '../../../src-main/datasets/preprocess';
import { comparePaths } from '../../../src-main/datasets/scan';
import { makeMixedFolder, noiseImage, type MixedFolder } from '../../fixtures/datasets/mixed-folder';

let tmp: string;
let fx: MixedFolder;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sfumato-import-'));
  fx = await makeMixedFolder(path.join(tmp, 'mixed'), { outsideDir: path.join(tmp, 'outside') });
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

const outDir = (name: string) => ({ thumbDir: path.join(tmp, name, 'thumbs'), cachePath: path.join(tmp, name, 'cache.bin') });

describe('importFolder', () => {
  it('imports every good image once, names every bad file, and writes thumbnails and the cache', async () => {
    const out = outDir('full');
    const progress: number[] = [];
    const r = await importFolder(fx.root, { size: 16, ...out, onProgress: (d) => progress.push(d) });

    expect(r.items.map((i) => i.file)).toEqual(fx.good.map((g) => g.file).sort(comparePaths));
    for (const g of fx.good) expect(r.items.find((i) => i.file === g.file)).toMatchObject(g);
    expect(Object.fromEntries(r.errors.map((e) => [e.file, e.code]))).toEqual(fx.bad);
    expect(Object.fromEntries(r.duplicates.map((d) => [d.file, d.duplicateOf]))).toEqual(fx.duplicates);
    expect(r.skipped).toEqual([...fx.skipped].sort(comparePaths));
    expect(r.sidecars).toEqual([...fx.sidecars].sort(comparePaths));
    expect(r.items.map((i) => i.index)).toEqual(r.items.map((_, i) => i));
    expect(progress.at(-1)).toBe(progress.length - 1);
    expect({ size: r.size, background: r.background, crop: r.crop }).toEqual({ size: 16, background: '#ffffff', crop: 'center' });

    const cache = await readCache(out.cachePath);
    expect({ size: cache.size, channels: cache.channels, count: cache.count }).toEqual({ size: 16, channels: 3, count: r.items.length });
    expect(r.cache).toEqual({ path: out.cachePath, size: 16, channels: 3, count: r.items.length, bytes: 32 + cache.pixels.length });
    const per = 16 * 16 * 3;
    for (const item of r.items) {
      if (item.file.includes('\uFFFD')) continue; // not openable by its display name
      const alone = await prepareImage(path.join(fx.root, item.file), { size: 16 });
      expect(Buffer.from(cache.pixels.subarray(item.index * per, (item.index + 1) * per)).equals(Buffer.from(alone.rgb))).toBe(true);
      expect(item.sha256).toBe(alone.sha256);
      const meta = await sharp(await readFile(item.thumbFile)).metadata();
      expect(meta).toMatchObject({ format: 'png', width: 64, height: 64 });
      expect(path.dirname(item.thumbFile)).toBe(out.thumbDir);
    }
    // transparent half of red-transparent.png became white in the cache
    const red = r.items.find((i) => i.file === 'red-transparent.png')!;
    const p = (y: number, x: number) => Array.from(cache.pixels.subarray(red.index * per + (y * 16 + x) * 3, red.index * per + (y * 16 + x) * 3 + 3));
    expect(p(8, 15)).toEqual([255, 255, 255]);
    expect(p(8, 0)).toEqual([255, 0, 0]);
    expect((await readdir(out.thumbDir)).length).toBe(r.items.length);
  });

  it('fills transparency with the chosen background', async () => {
    const dir = path.join(tmp, 'alpha');
    await mkdir(dir);
    await writeFile(path.join(dir, 'a.png'), await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 255, b: 0, alpha: 0 } } }).png().toBuffer());
    const r = await importFolder(dir, { size: 8, background: '#000000', ...outDir('alpha-out') });
    const cache = await readCache(outDir('alpha-out').cachePath);
    expect(r.background).toBe('#000000');
    expect(cache.pixels.every((v) => v === 0)).toBe(true);
  });

  it('leaves no cache and no new thumbnails when cancelled, and keeps an earlier cache intact', async () => {
    const out = outDir('cancel');
    await mkdir(path.dirname(out.cachePath), { recursive: true });
    await writeFile(out.cachePath, 'previous cache');
    for (const at of [3, 1e9]) {
      const ac = new AbortController();
      const e = await rejection(
        importFolder(fx.root, { size: 16, ...out, signal: ac.signal, onProgress: (d, t) => (d === Math.min(at, t)) && ac.abort() }),
      );
      expect(e.code).toBe('cancelled');
      expect(e.message).toMatch(/cancelled; nothing was saved/);
      expect(await readFile(out.cachePath, 'utf8')).toBe('previous cache');
      // only the earlier cache: no thumbnails, no thumbnail folder, no temp file
      expect(await readdir(path.dirname(out.cachePath))).toEqual(['cache.bin']);
    }
    const ac = new AbortController();
    ac.abort();
    expect((await rejection(importFolder(fx.root, { ...outDir('cancel-early'), signal: ac.signal }))).code).toBe('cancelled');
  });

  it('throws a clear error for a folder with no usable image, a missing folder, a file, and bad options', async () => {
    const onlyBad = path.join(tmp, 'only-bad');
    await mkdir(onlyBad);
    await writeFile(path.join(onlyBad, 'a.png'), 'text');
    const jpg = await noiseImage(32, 32).jpeg().toBuffer();
    await writeFile(path.join(onlyBad, 'b.jpg'), jpg.subarray(0, 200));
    const e = await rejection(importFolder(onlyBad, outDir('only-bad-out')));
    expect(e.code).toBe('no_images');
    expect(e.message).toContain(onlyBad);
    expect(e.message).toMatch(/2 files checked.*1 unsupported.*1 corrupt|2 files checked.*1 corrupt.*1 unsupported/);
    expect((e.details as { errors: unknown[] }).errors).toHaveLength(2);
    expect(await readdir(path.join(tmp, 'only-bad-out')).catch(() => [])).not.toContain('cache.bin');

    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    await writeFile(path.join(empty, '.DS_Store'), 'junk');
    expect(await rejection(importFolder(empty, outDir('empty-out')))).toMatchObject({ code: 'no_images', message: expect.stringMatching(/No images found in .*PNG, JPEG/) });

    const missing = await rejection(importFolder(path.join(tmp, 'does-not-exist'), outDir('x')));
    expect(missing).toMatchObject({ code: 'not_found', message: expect.stringContaining('does-not-exist') });
    expect(missing.toApiError().toJSON()).toMatchObject({ code: 'not_found', details: { datasetCode: 'not_found' } });
    const file = path.join(tmp, 'single.jpg');
    await writeFile(file, jpg);
    expect((await rejection(importFolder(file, outDir('x')))).code).toBe('not_a_folder');
    expect(await rejection(importFolder(fx.root, { size: 48, ...outDir('x') }))).toMatchObject({ code: 'invalid_option', message: expect.stringContaining('power of two') });
    expect((await rejection(importFolder(fx.root, { background: 'white', ...outDir('x') }))).code).toBe('invalid_option');
    expect(await readdir(tmp)).not.toContain('x');
  });
});
