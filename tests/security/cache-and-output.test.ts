/**
 * Issue 11 leftovers, item 4: files Sfumato reads back and files the user asks for.
 * - A dataset's prepared cache that is truncated or oversized (a stray multi-gigabyte file
 *   included: a real sparse file) is refused from its header and size, before any pixel is read,
 *   with an error that names the dataset and says to re-import; a run on it fails with that line.
 * - `animate` writes its output atomically and never over an existing file; a full disk (ENOSPC
 *   injected after a real half-write into the temp file) gives a clear line naming the file, and
 *   leaves neither the output nor a temp file.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const open = (async (p: Parameters<typeof real.promises.open>[0], ...rest: unknown[]) => {
    const fh = await (real.promises.open as (...a: unknown[]) => Promise<import('node:fs/promises').FileHandle>)(p, ...rest);
    if (!String(p).includes('fullhere') || !String(p).endsWith('.sfumato-tmp')) return fh;
    let writes = 0;
    const write = fh.write.bind(fh) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
    (fh as unknown as { write: unknown }).write = async (buf: Uint8Array, off = 0, len = buf.byteLength - off) => {
      if (++writes > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return write(buf, off, Math.max(1, Math.floor(len / 2)));
    };
    return fh;
  }) as typeof real.promises.open;
  const promises = { ...real.promises, open };
  return { ...real, promises, default: { ...real, promises } };
});

const { ApiError } = await import('../../src-main/api/errors');
const { readCache } = await import('../../src-main/datasets/cache');
const { Sfumato } = await import('../../src-main/services/sfumato');
const { EMOJI_DIR, TINY_CONFIG, tempDir } = await import('../helpers/library');

let lib: ReturnType<typeof tempDir>;
let s: import('../../src-main/services/sfumato').Sfumato;
let datasetId: string;
let cacheFile: string;
let good: Buffer;

beforeAll(async () => {
  lib = tempDir('sfumato-cacheout-');
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 })).dataset.id;
  cacheFile = s.library.abs((await s.store.datasets.cacheFile(datasetId))!);
  good = await fsp.readFile(cacheFile);
}, 60_000);
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

const message = (p: Promise<unknown>) =>
  p.then(
    () => '(no error)',
    (e: Error) => e.message,
  );

describe('a damaged dataset cache', () => {
  it('oversized (a 3 GiB sparse file): refused from its header and size, naming the dataset, without reading it', async () => {
    try {
      await fsp.truncate(cacheFile, 3 * 1024 ** 3);
      const rss0 = process.memoryUsage().rss;
      const m = await message(readCache(cacheFile));
      expect(m).toMatch(new RegExp(`^The prepared cache of dataset ${datasetId} \\(.*cache-16\\.bin\\) is damaged \\(\\d+ unexpected bytes after the last image\\)\\. Re-import the dataset`));
      expect(process.memoryUsage().rss - rss0).toBeLessThan(512 * 1024 ** 2);
    } finally {
      await fsp.writeFile(cacheFile, good);
    }
  });

  it('truncated: a run on it fails with a line that names the dataset and says to re-import', async () => {
    try {
      await fsp.writeFile(cacheFile, good.subarray(0, good.length - 100));
      expect(await message(readCache(cacheFile))).toMatch(new RegExp(`dataset ${datasetId} .* is damaged \\(truncated: ${good.length - 100} bytes, expected ${good.length} .*Re-import the dataset`));
      const run = await (await s.startRun({ datasetId, seed: 2, config: { ...TINY_CONFIG, steps: 2, workers: 1 } })).done;
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(new RegExp(`dataset ${datasetId} .*truncated.*Re-import the dataset`));
    } finally {
      await fsp.writeFile(cacheFile, good);
    }
  }, 60_000);
});

describe('animate output', () => {
  let sampleId: string;
  beforeAll(async () => {
    const run = await (await s.startRun({ datasetId, seed: 1, config: { ...TINY_CONFIG, steps: 2, workers: 1 } })).done;
    expect(run.status).toBe('completed');
    sampleId = (await s.generate({ runId: run.id, count: 1, seed: 3, steps: 3, sampler: 'ddim' })).samples[0]!.id;
  }, 90_000);

  it('a full disk: a clear error naming the file, no output and no temp file left', async () => {
    const dir = join(lib.dir, '..', `${lib.dir.split('/').pop()}-fullhere`);
    await fsp.mkdir(dir, { recursive: true });
    try {
      const out = join(dir, 'denoise.gif');
      const err = await s.animateSample(sampleId, { out }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as InstanceType<typeof ApiError>).code).toBe('unavailable');
      expect((err as Error).message).toBe(
        `Could not write the animation ${out}: the disk is full (ENOSPC); nothing was written there. Free space on the disk that holds ${dir}, or choose another file, and try again.`,
      );
      expect(await fsp.readdir(dir)).toEqual([]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('never replaces an existing file', async () => {
    const out = join(lib.dir, 'tmp', 'taken.webp');
    await fsp.writeFile(out, 'mine');
    const err = await s.animateSample(sampleId, { out }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof ApiError>).code).toBe('conflict');
    expect(await fsp.readFile(out, 'utf8')).toBe('mine');
    expect((await fsp.readdir(join(lib.dir, 'tmp'))).filter((f) => f.endsWith('tmp'))).toEqual([]);
  }, 60_000);
});
