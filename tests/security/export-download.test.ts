/**
 * Web mode export downloads (issue 15 item 6): an export made with `download: true` lands in a
 * random folder under <library>/exports and is fetched through an authenticated GET as an
 * attachment; nothing else under exports/ (or outside it) is ever served, and the folder goes
 * away after the download. Real Sfumato, real export job process, real HTTP on 127.0.0.1.
 */
import { existsSync, mkdirSync, promises as fs, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportResult } from '../../src-main/api/types';
import { embedSampleMetadata, readSampleMetadata } from '../../src-main/gallery/metadata';
import { startWebServer, type WebServer } from '../../src-main/server/http';
import { ExportDownloads } from '../../src-main/services/downloads';
import { Sfumato } from '../../src-main/services/sfumato';
import { Library } from '../../src-main/db/library';
import { spawnSync } from 'node:child_process';
import { CLI, tempDir } from '../helpers/library';
import { makePng, readZip, rgbPattern, sampleRecord } from '../unit/gallery/helpers';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let srv: WebServer;
let base: string;

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'web' });
  srv = await startWebServer(s, { port: 0 });
  base = `http://127.0.0.1:${srv.port}`;
  for (let i = 0; i < 2; i++) {
    const { createdAt: _c, ...record } = sampleRecord({ id: `smp_dl${i}`, seed: 500 + i, file: `samples/smp_dl${i}.png`, width: 4, height: 4, runId: null as never, checkpoint: { id: null as never, sha256: 'a'.repeat(64) } });
    void _c;
    mkdirSync(join(lib.dir, 'samples'), { recursive: true });
    writeFileSync(join(lib.dir, 'samples', `smp_dl${i}.png`), embedSampleMetadata(await makePng(4, 4, 60 + i), { ...record, createdAt: new Date().toISOString() }));
    await s.store.samples.insert(record);
  }
});
afterAll(async () => {
  await srv?.close();
  await s?.close();
  lib?.cleanup();
});

async function exportForDownload(body: Record<string, unknown>): Promise<ExportResult> {
  const res = await fetch(`${base}/api/gallery/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.token}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { ok: boolean; result: ExportResult; error?: unknown };
  expect(json.error).toBeUndefined();
  return json.result;
}

const get = (path: string, token?: string) => fetch(base + path, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('export download in web mode', () => {
  it('downloads a zip (with the contact sheet inside) once, as an attachment, with the token only', async () => {
    const r = await exportForDownload({ ids: ['smp_dl0', 'smp_dl1'], download: true, contactSheet: true, upscale: 2 });
    expect(r.download?.name).toBe('sfumato-export.zip');
    expect(r.path.startsWith(join(lib.dir, 'exports') + '/')).toBe(true);
    const url = `/api/exports/${r.download!.id}/${r.download!.name}`;
    expect((await get(url)).status).toBe(401);
    expect((await get(url, 'f'.repeat(32))).status).toBe(401);
    const res = await get(url, srv.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="sfumato-export.zip"/);
    const zip = readZip(new Uint8Array(await res.arrayBuffer()));
    expect([...zip.keys()].sort()).toEqual(['contact-sheet.png', 'manifest.csv', 'manifest.json', 'smp_dl0.png', 'smp_dl1.png']);
    const png = zip.get('smp_dl1.png')!;
    expect(await sharp(png).metadata().then((m) => [m.width, m.height])).toEqual([8, 8]);
    expect(readSampleMetadata(png).partial?.id).toBe('smp_dl1'); // partial: the test rows have no checkpoint
    expect(JSON.parse(new TextDecoder().decode(zip.get('manifest.json'))).upscale).toBe(2);
    // served once: the folder is gone afterwards
    await expect.poll(() => existsSync(join(lib.dir, 'exports', r.download!.id))).toBe(false);
    expect((await get(url, srv.token)).status).toBe(404);
  });

  it('downloads one sample without a contact sheet as a single PNG', async () => {
    const r = await exportForDownload({ ids: ['smp_dl0'], download: true, upscale: 3 });
    expect(r.download?.name).toBe('smp_dl0.png');
    const res = await get(`/api/exports/${r.download!.id}/smp_dl0.png`, srv.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    const png = new Uint8Array(await res.arrayBuffer());
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([12, 12]);
    expect(Array.from(data.subarray((2 * 12 + 2) * 3, (2 * 12 + 2) * 3 + 3))).toEqual(Array.from(rgbPattern(4, 4, 60).subarray(0, 3)));
    expect(readSampleMetadata(png).partial?.seed).toBe(500);
    expect(readSampleMetadata(png).parametersText).toContain('Seed: 500');
  });

  it('serves nothing that the export did not create: other files, other names, paths outside exports/, links', async () => {
    const r = await exportForDownload({ ids: ['smp_dl0'], download: true });
    const { id } = r.download!;
    const dir = join(lib.dir, 'exports', id);
    // the export's own manifest, in the same folder, is not the registered download
    expect((await get(`/api/exports/${id}/manifest.json`, srv.token)).status).toBe(404);
    // a file planted under exports/ with a well-formed id
    const planted = 'a'.repeat(32);
    mkdirSync(join(lib.dir, 'exports', planted), { recursive: true });
    writeFileSync(join(lib.dir, 'exports', planted, 'x.zip'), 'PK');
    expect((await get(`/api/exports/${planted}/x.zip`, srv.token)).status).toBe(404);
    // traversal, encoded slashes, the database
    for (const p of [`/api/exports/${id}/..%2F..%2Fsfumato.db`, '/api/exports/../sfumato.db', `/api/exports/${id}/../../sfumato.db`, `/api/exports/${id}`, '/api/exports/x/y/z']) {
      const res = await get(p, srv.token);
      expect(res.status, p).toBeGreaterThanOrEqual(400);
      expect(res.status, p).not.toBe(200);
    }
    // the registered file replaced by a link to the database: refused
    await fs.rm(join(dir, 'smp_dl0.png'));
    symlinkSync(join(lib.dir, 'sfumato.db'), join(dir, 'smp_dl0.png'));
    expect((await get(`/api/exports/${id}/smp_dl0.png`, srv.token)).status).toBe(404);
    // the files cookie route never serves zips
    expect((await get(`/api/files/exports/${planted}/x.zip`, srv.token)).status).toBe(404);
  });

  it('refuses a bad upscale and an export without a target, naming the field', async () => {
    for (const [body, field] of [
      [{ ids: ['smp_dl0'], download: true, upscale: 17 }, 'upscale'],
      [{ ids: ['smp_dl0'], download: true, upscale: 1.5 }, 'upscale'],
      [{ ids: ['smp_dl0'] }, 'to'],
    ] as const) {
      const res = await fetch(`${base}/api/gallery/export`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.token}` }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(field);
    }
  });

  it('sweeps export folders older than an hour, registered or left over', async () => {
    let now = Date.now();
    const d = new ExportDownloads(new Library(lib.dir), 60 * 60 * 1000, () => now);
    const a = await d.create();
    writeFileSync(join(a.dir, 'sfumato-export.zip'), 'PK');
    d.register(a.id, join(a.dir, 'sfumato-export.zip'));
    const left = join(lib.dir, 'exports', 'b'.repeat(32));
    mkdirSync(left, { recursive: true });
    await fs.utimes(left, new Date(now - 2 * 3600_000), new Date(now - 2 * 3600_000));
    await d.sweep();
    expect(existsSync(a.dir)).toBe(true);
    expect(existsSync(left)).toBe(false);
    now += 61 * 60 * 1000;
    await expect(d.open(a.id, 'sfumato-export.zip')).rejects.toThrow(/kept for an hour/);
    expect(existsSync(a.dir)).toBe(false);
  });

  it('sfumato export --upscale N writes N× images; a factor outside 1..16 is bad usage (exit 2)', async () => {
    const out = join(lib.dir, 'cli-out');
    const ok = spawnSync(process.execPath, [CLI, '--data-dir', lib.dir, '--json', 'export', '--samples', 'smp_dl1', '--to', out, '--upscale', '4'], { encoding: 'utf8', timeout: 60_000 });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).export.count).toBe(1);
    expect(await sharp(join(out, 'smp_dl1.png')).metadata().then((m) => [m.width, m.height])).toEqual([16, 16]);
    expect(JSON.parse(await fs.readFile(join(out, 'manifest.json'), 'utf8')).upscale).toBe(4);
    const bad = spawnSync(process.execPath, [CLI, '--data-dir', lib.dir, 'export', '--samples', 'smp_dl1', '--to', out, '--upscale', '17'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--upscale must be a whole number from 1 to 16');
  });
});
