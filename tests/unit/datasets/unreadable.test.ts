/**
 * Permission errors. Tests may run as root (CI containers), where chmod 000 does not stop reads,
 * so the file system is made to answer EACCES for chosen paths instead.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const denied = (p: unknown) => String(p).includes('locked');
  const eacces = (p: unknown) => Object.assign(new Error(`EACCES: permission denied, open '${String(p)}'`), { code: 'EACCES' });
  return {
    ...real,
    readFile: (async (p: Parameters<typeof real.readFile>[0], ...rest: unknown[]) => {
      if (denied(p)) throw eacces(p);
      return (real.readFile as (...a: unknown[]) => unknown)(p, ...rest);
    }) as typeof real.readFile,
    // files are read through open + fstat (datasets/user-file.ts), so open is denied too
    open: (async (p: Parameters<typeof real.open>[0], ...rest: unknown[]) => {
      if (denied(p)) throw eacces(p);
      return (real.open as (...a: unknown[]) => unknown)(p, ...rest);
    }) as typeof real.open,
    readdir: (async (p: Parameters<typeof real.readdir>[0], ...rest: unknown[]) => {
      if (denied(p)) throw eacces(p);
      return (real.readdir as (...a: unknown[]) => unknown)(p, ...rest);
    }) as typeof real.readdir,
  };
});

const { scanFolder } = await import('../../../src-main/datasets/scan');
const { importFolder } = await import('../../../src-main/datasets/import');
const { noiseImage } = await import('../../fixtures/datasets/mixed-folder');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sfumato-perm-'));
  const png = await noiseImage(8, 8).png().toBuffer();
  await writeFile(path.join(tmp, 'ok.png'), png);
  await writeFile(path.join(tmp, 'locked.png'), png);
  await mkdir(path.join(tmp, 'locked folder'));
  await writeFile(path.join(tmp, 'locked folder', 'inside.png'), png);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('unreadable files and folders', () => {
  it('reports them as unreadable with what to do, and imports the rest', async () => {
    const r = await scanFolder(tmp);
    expect(r.files.map((f) => f.file)).toEqual(['ok.png']);
    expect(r.errors).toEqual([
      { file: 'locked folder/', code: 'unreadable', message: expect.stringMatching(/permission denied.*chmod/) },
      { file: 'locked.png', code: 'unreadable', message: expect.stringMatching(/permission denied.*chmod/) },
    ]);
    const out = path.join(os.tmpdir(), `sfumato-perm-out-${process.pid}`);
    try {
      const im = await importFolder(tmp, { size: 8, thumbDir: path.join(out, 'thumbs'), cachePath: path.join(out, 'c.bin') });
      expect(im.items.map((i) => i.file)).toEqual(['ok.png']);
      expect(im.errors.map((e) => [e.file, e.code])).toEqual([
        ['locked folder/', 'unreadable'],
        ['locked.png', 'unreadable'],
      ]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
