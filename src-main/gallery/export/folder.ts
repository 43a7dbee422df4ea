/** Folder export (moved whole from gallery/export.ts; its file comment has the safety rules). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkAborted, commitNoClobber, fsyncDir, removeStaleTemps, STAGING_PREFIX, writeTemp } from '../atomic';
import { safeExportPath } from './names';
import { manifestCsv, manifestJson, type ExportOptions, type ExportResult, type ExportSample, type Manifest, type ManifestItem } from './manifest';
import { checkSamples, exportImageBytes, imageName, sha256, upscaleFactor } from './images';

// ------------------------------------------------------------------ folder export

/**
 * Exports images into `targetDir` (created if needed) with manifest.json and manifest.csv.
 * Images are prepared in a hidden staging folder inside `targetDir`, then moved into place with
 * no-clobber links (taken names get -1, -2, …), then the manifests (naming the final file names)
 * are committed the same way. Cancel or failure removes everything this export committed.
 */
export async function exportFolder(samples: readonly ExportSample[], targetDir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  checkSamples(samples);
  const format = opts.format ?? 'png';
  const upscale = upscaleFactor(opts.upscale);
  const { signal, onProgress } = opts;
  checkAborted(signal);
  const dir = path.resolve(targetDir);
  // the first folder this export created (undefined when `dir` existed): removed again on failure
  const created = await fs.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const staging = await fs.mkdtemp(path.join(dir, `${STAGING_PREFIX}${process.pid}-`));
  const committed: string[] = [];
  let done = false;
  try {
    const planned: { name: string; tmp: string; item: Omit<ManifestItem, 'file'> }[] = [];
    const names = new Set<string>(['manifest.json', 'manifest.csv']);
    for (let i = 0; i < samples.length; i++) {
      checkAborted(signal);
      const s = samples[i];
      const bytes = await exportImageBytes(s, format, upscale);
      const name = imageName(s.record, format, names);
      const tmp = path.join(staging, name);
      safeExportPath(staging, name);
      await fs.writeFile(tmp, bytes, { flag: 'wx' });
      planned.push({ name, tmp, item: { format, bytes: bytes.length, sha256: sha256(bytes), record: s.record } });
      onProgress?.({ phase: 'images', done: i + 1, total: samples.length });
    }
    checkAborted(signal);
    // fsync the staged files once, then commit.
    for (const p of planned) {
      const fh = await fs.open(p.tmp, 'r+');
      await fh.sync().finally(() => fh.close());
    }
    const taken = new Set<string>();
    const items: ManifestItem[] = [];
    for (let i = 0; i < planned.length; i++) {
      checkAborted(signal);
      const final = await commitNoClobber(planned[i].tmp, dir, planned[i].name, taken);
      committed.push(final);
      items.push({ file: final, ...planned[i].item });
      onProgress?.({ phase: 'commit', done: i + 1, total: planned.length });
    }
    const manifest: Manifest = {
      format: 'sfumato-export',
      version: 1,
      exportedAt: (opts.now ?? new Date()).toISOString(),
      ...(opts.appVersion ? { appVersion: opts.appVersion } : {}),
      ...(upscale > 1 ? { upscale } : {}),
      count: items.length,
      items,
    };
    checkAborted(signal);
    for (const [name, text] of [
      ['manifest.json', manifestJson(manifest)],
      ['manifest.csv', manifestCsv(manifest)],
    ] as const) {
      const tmp = await writeTemp(dir, name, new TextEncoder().encode(text));
      committed.push(await commitNoClobber(tmp, dir, name, taken).catch(async (e) => {
        await fs.rm(tmp, { force: true });
        throw e;
      }));
    }
    await fsyncDir(dir);
    done = true;
    onProgress?.({ phase: 'done', done: samples.length, total: samples.length });
    return { path: dir, manifest, files: committed };
  } finally {
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (!done) {
      for (const f of committed) await fs.rm(path.join(dir, f), { force: true }).catch(() => undefined);
      await fsyncDir(dir);
      // Folders this export made go too (rmdir: only while empty, never anyone else's files).
      if (created) {
        for (let d = dir; ; d = path.dirname(d)) {
          const gone = await fs.rmdir(d).then(
            () => true,
            () => false,
          );
          if (!gone || d === path.resolve(created) || path.dirname(d) === d) break;
        }
      }
    }
  }
}
