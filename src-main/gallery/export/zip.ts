/** Zip export (moved whole from gallery/export.ts; its file comment has the safety rules). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { checkAborted, commitNoClobber, fsyncDir, removeStaleTemps, tempNameFor } from '../atomic';
import { ExportError, safeExportPath } from './names';
import { manifestCsv, manifestJson, type ExportOptions, type ExportResult, type ExportSample, type Manifest, type ManifestItem } from './manifest';
import { checkSamples, exportImageBytes, imageName, sha256, upscaleFactor } from './images';

// ------------------------------------------------------------------ zip export

export interface ZipOptions extends ExportOptions {
  /** when `zipPath` exists: pick `name-1.zip`, … (default) or fail with ExportError('exists') */
  onExists?: 'rename' | 'fail';
  /** more files stored in the zip after the images (e.g. the contact sheet of a download) */
  extra?: { name: string; bytes: Uint8Array }[];
}

const ZIP_LIMIT = 0xffffffff - 64 * 1024 * 1024; // fflate writes no ZIP64: keep well under 4 GiB

function dosSafeDate(iso: string | undefined, fallback: Date): Date {
  const d = iso ? new Date(iso) : fallback;
  const y = d.getUTCFullYear();
  return Number.isNaN(d.getTime()) || y < 1980 || y > 2107 ? fallback : d;
}

/**
 * The same content as `exportFolder`, as one zip. Streamed into a temp file next to `zipPath`,
 * fsynced, then moved to its final name with a no-clobber link: a kill -9 at any moment leaves
 * no file under the final name (only a dot-prefixed temp file that the next export removes).
 */
export async function exportZip(samples: readonly ExportSample[], zipPath: string, opts: ZipOptions = {}): Promise<ExportResult> {
  checkSamples(samples);
  const format = opts.format ?? 'png';
  const upscale = upscaleFactor(opts.upscale);
  const { signal, onProgress } = opts;
  checkAborted(signal);
  const abs = path.resolve(zipPath);
  const dir = path.dirname(abs);
  const base = path.basename(abs);
  safeExportPath(dir, base);
  await fs.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  if (opts.onExists === 'fail') {
    const exists = await fs.lstat(abs).then(
      () => true,
      () => false,
    );
    if (exists) throw new ExportError('exists', `${abs} already exists; choose another name.`);
  }
  const now = opts.now ?? new Date();
  const tmp = path.join(dir, tempNameFor(base));
  const fh = await fs.open(tmp, 'wx');
  let closed = false;
  let committedName: string | undefined;
  try {
    let written = 0;
    let chain: Promise<void> = Promise.resolve();
    let zipError: Error | undefined;
    const zip = new Zip((err, chunk) => {
      if (err) {
        zipError = err;
        return;
      }
      written += chunk.length;
      chain = chain.then(async () => {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      });
    });
    const flush = async () => {
      await chain;
      if (zipError) throw zipError;
      if (written > ZIP_LIMIT) throw new ExportError('too_large', 'The zip would pass 4 GiB; export fewer images or to a folder.');
    };
    const names = new Set<string>(['manifest.json', 'manifest.csv', ...(opts.extra ?? []).map((e) => e.name.toLowerCase())]);
    const items: ManifestItem[] = [];
    for (let i = 0; i < samples.length; i++) {
      checkAborted(signal);
      const s = samples[i];
      const bytes = await exportImageBytes(s, format, upscale);
      const name = imageName(s.record, format, names);
      safeExportPath(dir, name);
      const entry = new ZipPassThrough(name);
      entry.mtime = dosSafeDate(s.record.createdAt, now);
      zip.add(entry);
      entry.push(bytes, true);
      await flush();
      items.push({ file: name, format, bytes: bytes.length, sha256: sha256(bytes), record: s.record });
      onProgress?.({ phase: 'images', done: i + 1, total: samples.length });
    }
    const manifest: Manifest = {
      format: 'sfumato-export',
      version: 1,
      exportedAt: now.toISOString(),
      ...(opts.appVersion ? { appVersion: opts.appVersion } : {}),
      ...(upscale > 1 ? { upscale } : {}),
      count: items.length,
      items,
    };
    for (const x of opts.extra ?? []) {
      safeExportPath(dir, x.name);
      const entry = new ZipPassThrough(x.name);
      entry.mtime = now;
      zip.add(entry);
      entry.push(x.bytes, true);
      await flush();
    }
    for (const [name, text] of [
      ['manifest.json', manifestJson(manifest)],
      ['manifest.csv', manifestCsv(manifest)],
    ] as const) {
      const entry = new ZipDeflate(name, { level: 6 });
      entry.mtime = now;
      zip.add(entry);
      entry.push(new TextEncoder().encode(text), true);
    }
    zip.end();
    await flush();
    await fh.sync();
    await fh.close();
    closed = true;
    checkAborted(signal);
    onProgress?.({ phase: 'commit', done: samples.length, total: samples.length });
    try {
      committedName = await commitNoClobber(tmp, dir, base, new Set(), opts.onExists !== 'fail');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ExportError('exists', `${abs} already exists; choose another name.`);
      throw e;
    }
    await fsyncDir(dir);
    onProgress?.({ phase: 'done', done: samples.length, total: samples.length });
    return { path: path.join(dir, committedName), manifest, files: [...items.map((it) => it.file), ...(opts.extra ?? []).map((e) => e.name), 'manifest.json', 'manifest.csv'] };
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
    if (!committedName) await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}
