/** DatasetService on a real library (SQLite file, real import of the fixture images); no jobs. */
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { readCache } from '../../../src-main/datasets/cache';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sfumato } from '../../../src-main/services/sfumato';
import { fakeLauncher, fakeService } from '../../helpers/fake-jobs';
import { EMOJI_DIR, tempDir } from '../../helpers/library';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('DatasetService', () => {
  it('imports, lists, reads and removes a dataset (row and files)', async () => {
    const { s, dir, close } = await fakeService();
    closers.push(close);
    const r = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 });
    expect(r.imported).toBeGreaterThan(0);
    expect((await s.datasets.list()).map((d) => d.id)).toEqual([r.dataset.id]);
    const detail = await s.datasets.get(r.dataset.id);
    expect(detail.items).toHaveLength(r.imported);
    expect(existsSync(join(dir, 'datasets', r.dataset.id))).toBe(true);
    expect(await s.datasets.remove(r.dataset.id)).toBe(true);
    expect(existsSync(join(dir, 'datasets', r.dataset.id))).toBe(false);
    expect(await s.datasets.remove(r.dataset.id)).toBe(false);
    await expect(s.datasets.get(r.dataset.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('previews the preprocessing of the first images without importing anything', async () => {
    const { s, close } = await fakeService();
    closers.push(close);
    const p = await s.datasets.preview({ dir: EMOJI_DIR, imageSize: 8, count: 2 });
    expect(p.items).toHaveLength(2);
    for (const it of p.items) expect(it.after).toMatch(/^data:image\/png;base64,/);
    expect(await s.datasets.list()).toEqual([]);
    await expect(s.datasets.preview({ dir: join(EMOJI_DIR, 'nope') })).rejects.toMatchObject({ code: 'bad_request', details: { field: 'dir' } });
  });

  it('the signal given at open (the CLI\'s Ctrl-C) stops an import started through the channel, leaving nothing', async () => {
    const lib = tempDir();
    const abort = new AbortController();
    const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli', launcher: fakeLauncher().launcher, signal: abort.signal });
    closers.push(async () => {
      await s.close();
      lib.cleanup();
    });
    abort.abort();
    await expect(s.api['datasets:import']({ dir: EMOJI_DIR, imageSize: 8 })).rejects.toBeDefined();
    expect(await s.datasets.list()).toEqual([]);
    expect(existsSync(join(lib.dir, 'datasets')) ? (await import('node:fs')).readdirSync(join(lib.dir, 'datasets')) : []).toEqual([]);
  });

  it('ignores caption and metadata sidecars and system files quietly on import, and counts the captions', async () => {
    const { s, close } = await fakeService();
    closers.push(close);
    const src = tempDir('sfumato-sidecars-');
    closers.push(async () => src.cleanup());
    const images = readdirSync(EMOJI_DIR).filter((f) => f.endsWith('.png')).slice(0, 3);
    for (const f of images) {
      copyFileSync(join(EMOJI_DIR, f), join(src.dir, f));
      writeFileSync(join(src.dir, f.replace(/\.png$/, '.txt')), 'a smiling face, flat colours');
    }
    writeFileSync(join(src.dir, 'extra.caption'), 'a caption');
    writeFileSync(join(src.dir, 'meta.json'), '{"a": 1}');
    writeFileSync(join(src.dir, 'photo.xmp'), '<x:xmpmeta/>');
    writeFileSync(join(src.dir, 'Thumbs.db'), 'junk');
    writeFileSync(join(src.dir, '.DS_Store'), 'junk');
    const r = await s.api['datasets:import']({ dir: src.dir, imageSize: 8 });
    expect(r.errors).toEqual([]);
    expect(r.imported).toBe(3);
    expect(r.captionFiles).toBe(4);
    expect(r.ignoredFiles).toBe(4);
    expect(r.dataset.captionCount).toBe(4);
    expect((await s.datasets.get(r.dataset.id)).captionCount).toBe(4);
  });

  it('shows the prepared images at training size, page by page, exactly as the cache holds them', async () => {
    const { s, close } = await fakeService();
    closers.push(close);
    const r = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 });
    const detail = await s.datasets.get(r.dataset.id);
    const page = await s.api['datasets:images']({ id: r.dataset.id, offset: 1, limit: 2 });
    expect(page.size).toBe(8);
    expect(page.images.map((i) => i.index)).toEqual([1, 2]);
    expect(page.images.map((i) => i.itemId)).toEqual([detail.items[1].id, detail.items[2].id]);
    const cache = await readCache(s.library.abs((await s.store.datasets.cacheFile(r.dataset.id))!));
    const png = Buffer.from(page.images[0].src.replace(/^data:image\/png;base64,/, ''), 'base64');
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([8, 8, 3]);
    expect(Buffer.from(data).equals(Buffer.from(cache.pixels.subarray(1 * 192, 2 * 192)))).toBe(true);
    const end = await s.api['datasets:images']({ id: r.dataset.id, offset: r.imported - 1, limit: 10 });
    expect(end.images).toHaveLength(1);
    await expect(s.api['datasets:images']({ id: r.dataset.id, limit: 100_000 })).rejects.toMatchObject({ code: 'bad_request' });
  });
});
