/**
 * The export job, run in a job process (exports zip and re-encode images: CPU work kept off the
 * main thread and the web server's event loop). Writes a folder or a zip with manifests, and
 * optionally a contact sheet beside them (or inside the zip, for downloads); cancelling leaves
 * nothing half-written.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { JobContext, ExportJobSpec } from './protocol';
import type { ExportResult } from '../api/types';
import { APP_VERSION } from '../version';
import { commitNoClobber, writeTemp } from '../gallery/atomic';
import { contactSheet, exportFolder, exportZip, type ExportProgress } from '../gallery/export';

export async function runExportJob(spec: ExportJobSpec, ctx: JobContext): Promise<void> {
  const total = spec.samples.length * 2 + (spec.contactSheet ? 1 : 0);
  const onProgress = (p: ExportProgress) => {
    const done = p.phase === 'images' ? p.done : p.phase === 'commit' ? spec.samples.length + Math.round((p.done / Math.max(1, p.total)) * spec.samples.length) : 2 * spec.samples.length;
    ctx.post({ type: 'export-progress', done, total });
  };
  const isZip = /\.zip$/i.test(spec.to);
  const upscale = spec.upscale ?? 1;
  const sheetOpts = { signal: ctx.signal, ...(upscale > 1 ? { upscale } : {}) };
  const opts = { format: spec.format, signal: ctx.signal, onProgress, appVersion: APP_VERSION, upscale };
  if (isZip && spec.sheetInZip && spec.contactSheet) {
    const png = await contactSheet(spec.samples, sheetOpts);
    const r = await exportZip(spec.samples, spec.to, { ...opts, extra: [{ name: 'contact-sheet.png', bytes: png }] });
    ctx.post({ type: 'export-done', result: { path: r.path, count: spec.samples.length, files: r.files, contactSheet: `${r.path}#contact-sheet.png` } });
    return;
  }
  const r = isZip ? await exportZip(spec.samples, spec.to, opts) : await exportFolder(spec.samples, spec.to, opts);
  const result: ExportResult = { path: r.path, count: spec.samples.length, files: r.files };
  if (spec.contactSheet) {
    const png = await contactSheet(spec.samples, sheetOpts);
    // Beside the zip, or inside the exported folder; never over an existing file.
    const dir = isZip ? dirname(r.path) : r.path;
    const name = isZip ? basename(r.path).replace(/\.zip$/i, '') + '-contact-sheet.png' : 'contact-sheet.png';
    await fs.mkdir(dir, { recursive: true });
    const tmp = await writeTemp(dir, name, png);
    const final = await commitNoClobber(tmp, dir, name);
    result.contactSheet = `${dir}/${final}`;
    ctx.post({ type: 'export-progress', done: total, total });
  }
  ctx.post({ type: 'export-done', result });
}
