/**
 * A full disk while a dataset's thumbnails and cache are written: the error names the folder and
 * says to free space, and no temp file is left behind. The file system answers ENOSPC on the
 * second write into any `.sfumato-tmp` file whose path contains "fullhere" (the cache's and the
 * thumbnails' temp files), after part of the data went out: a real half-write.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const open = (async (p: Parameters<typeof real.promises.open>[0], ...rest: unknown[]) => {
    const fh = await (real.promises.open as (...a: unknown[]) => Promise<import('node:fs/promises').FileHandle>)(p, ...rest);
    if (!String(p).includes('fullhere') || !String(p).endsWith('.sfumato-tmp')) return fh;
    let writes = 0;
    const write = fh.write.bind(fh) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
    (fh as unknown as { write: unknown }).write = async (buf: Uint8Array, off = 0, len = buf.byteLength - off) => {
      if (++writes > 1) throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
      return write(buf, off, Math.max(1, Math.floor(len / 2)));
    };
    return fh;
  }) as typeof real.promises.open;
  const promises = { ...real.promises, open };
  return { ...real, promises, default: { ...real, promises } };
});

const { atomicWriteFile } = await import('../../src-main/datasets/util');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sfumato-dsfull-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('dataset writes on a full disk', () => {
  it('fail with a StorageFullError naming the folder, and leave no temp file and no target', async () => {
    const dir = path.join(tmp, 'fullhere');
    await mkdir(dir);
    const target = path.join(dir, 'cache-32.bin');
    const err = await atomicWriteFile(target, [new Uint8Array(4096).fill(7), new Uint8Array(4096)]).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.name).toBe('StorageFullError');
    expect(err?.message).toContain('ENOSPC');
    expect(err?.message).toContain(dir);
    expect(err?.message).toMatch(/Free space/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('other folders write normally (the fault is confined to the test folder)', async () => {
    const dir = path.join(tmp, 'fine');
    await mkdir(dir);
    await atomicWriteFile(path.join(dir, 'a.bin'), [new Uint8Array(10).fill(1)]);
    expect(await readdir(dir)).toEqual(['a.bin']);
  });
});
