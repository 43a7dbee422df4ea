import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../../src-main/datasets/errors';
import { comparePaths, scanFolder } from '../../../src-main/datasets/scan';
import { makeMixedFolder, noiseImage, type MixedFolder } from '../../fixtures/datasets/mixed-folder';

let tmp: string;
let fx: MixedFolder;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sfumato-scan-'));
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

describe('scanFolder', () => {
  it('finds every good image recursively and names every bad file with its code', async () => {
    expect(fx.nonUtf8 && fx.symlinks).toBe(true); // this machine (Linux) supports both
    const calls: [number, number, string][] = [];
    const r = await scanFolder(fx.root, { onProgress: (d, t, f) => calls.push([d, t, f]) });

    const expectedFiles = [...fx.good.map((g) => g.file), ...Object.keys(fx.duplicates)].sort(comparePaths);
    expect(r.files.map((f) => f.file)).toEqual(expectedFiles);
    for (const g of fx.good) {
      const f = r.files.find((x) => x.file === g.file)!;
      expect({ file: f.file, format: f.format, width: f.width, height: f.height }).toEqual(g);
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Object.fromEntries(r.errors.map((e) => [e.file, e.code]))).toEqual(fx.bad);
    expect(r.errors.map((e) => e.file)).toEqual(Object.keys(fx.bad).sort(comparePaths));
    expect(r.skipped).toEqual([...fx.skipped].sort(comparePaths));
    for (const e of r.errors) expect(e.message.length).toBeGreaterThan(30);
    const msg = (f: string) => r.errors.find((e) => e.file === f)!.message;
    expect(msg('broken/document.pdf')).toMatch(/not an image \(looks like a PDF document\)\. Remove it/);
    expect(msg('broken/truncated.png')).toMatch(/ends early/);
    expect(msg('broken/truncated.jpg')).toMatch(/ends early/);
    expect(msg('broken/ïmage cassée.webp')).toMatch(/ends early/);
    expect(msg('link-outside.png')).toMatch(/outside the imported folder/);
    expect(msg('broken/pipe.png')).toMatch(/not a regular file/);

    // links and the pipe are reported by the walk itself; every other file is checked with progress
    const walkLevel = (f: string) => f.startsWith('link-') || f === 'broken/pipe.png';
    const total = r.files.length + r.errors.filter((e) => !walkLevel(e.file)).length;
    expect(calls[0]).toEqual([0, total, '']);
    expect(calls.length).toBe(total + 1);
    calls.forEach(([d, t], i) => expect([d, t]).toEqual([i, total]));
  });

  it('returns forward-slash paths with non-ASCII names intact and byte paths for non-UTF-8 names', async () => {
    const r = await scanFolder(fx.root, { decode: false });
    const uni = r.files.find((f) => f.file === 'ünïcødé/画像.png')!;
    expect(typeof uni.absPath).toBe('string');
    expect(uni.absPath).toBe(path.join(fx.root, 'ünïcødé', '画像.png'));
    const latin1 = r.files.find((f) => f.file === 'photos/caf\uFFFD.png')!;
    expect(Buffer.isBuffer(latin1.absPath)).toBe(true);
    for (const f of r.files) expect(f.file).not.toMatch(/\\|^\//);
  });

  it('orders paths folder by folder, independent of locale', () => {
    const list = ['b.png', 'a b/x.png', 'a/z.png', 'A.png', 'a/b/c.png', 'é.png'];
    expect([...list].sort(comparePaths)).toEqual(['A.png', 'a/b/c.png', 'a/z.png', 'a b/x.png', 'b.png', 'é.png']);
  });

  it('throws for a missing folder, a file, and a fired signal', async () => {
    const missing = await rejection(scanFolder(path.join(tmp, 'nope')));
    expect(missing.code).toBe('not_found');
    expect(missing.message).toContain(path.join(tmp, 'nope'));
    const file = path.join(tmp, 'file.png');
    await writeFile(file, await noiseImage(4, 4).png().toBuffer());
    const notDir = await rejection(scanFolder(file));
    expect(notDir).toMatchObject({ code: 'not_a_folder', message: expect.stringContaining('is a file, not a folder') });
    const ac = new AbortController();
    ac.abort();
    expect((await rejection(scanFolder(fx.root, { signal: ac.signal }))).code).toBe('cancelled');
    const ac2 = new AbortController();
    const e = await rejection(scanFolder(fx.root, { signal: ac2.signal, onProgress: (d) => d === 2 && ac2.abort() }));
    expect(e.code).toBe('cancelled');
  });

  it('scans an empty folder to empty lists', async () => {
    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    expect(await scanFolder(empty)).toEqual({ files: [], errors: [], skipped: [] });
  });
});
