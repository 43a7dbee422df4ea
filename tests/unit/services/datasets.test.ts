/** DatasetService on a real library (SQLite file, real import of the fixture images); no jobs. */
import { existsSync } from 'node:fs';
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
});
