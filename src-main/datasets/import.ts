/**
 * Import a folder: walk → check and prepare each file (bounded concurrency) → thumbnails →
 * one pixel cache. Pure library code: the caller stores the result (rows, ids) and runs it as a job.
 *
 * Decisions:
 * - Each file is read once and decoded once (strictly, at full resolution; see inspect.ts), and
 *   both the training pixels and the thumbnail come from that decode.
 * - Exact duplicates (same sha256 of the file bytes) are imported once: the first in path order is
 *   kept, the others are listed in `duplicates` (not in `errors`: they are not broken).
 * - Thumbnails are content-addressed PNGs (`<first 16 hex of sha256>.png`) in `thumbDir`, showing
 *   exactly the framing the model trains on, at `thumbSize` (default 64) px.
 * - Cancellation (AbortSignal) or a failure removes the thumbnails (and thumbnail folders) this
 *   call created and never leaves a cache file (the cache is written last, atomically, and the
 *   signal is checked just before its rename). An existing cache at `cachePath` is left untouched.
 */
import { access, mkdir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ImportError } from '../api/types';
import { CACHE_HEADER_BYTES, writeCache } from './cache';
import { DatasetError, throwIfAborted } from './errors';
import type { ImportLimits } from './inspect';
import { prepareBytes, resolvePrepareOptions, type CropMode } from './preprocess';
import { comparePaths, readFileChecked, toImportError, walkFolder } from './scan';
import { SUPPORTED_LIST, type ImageFormat } from './sniff';
import { atomicWriteFile, defaultConcurrency, mapLimit } from './util';

export const DEFAULT_IMAGE_SIZE = 32;

export interface ImportOptions {
  /** training resolution, a power of two from 8 to 256 (default 32) */
  size?: number;
  /** colour that replaces transparency, `#rrggbb` (default `#ffffff`) */
  background?: string;
  /** framing: `center` (default) crops the middle square, `fit` pads with the background */
  crop?: CropMode;
  /** thumbnail edge in px (default 64) */
  thumbSize?: number;
  /** folder for the thumbnails (created if missing) */
  thumbDir: string;
  /** the cache file to write (its folder is created if missing) */
  cachePath: string;
  /** files processed in parallel (default 2–4 by CPU count; sharp adds its own threads per image) */
  concurrency?: number;
  limits?: Partial<ImportLimits>;
  signal?: AbortSignal;
  /** files done, files found, the file just done ('' for the first call, made once the walk is done) */
  onProgress?: (done: number, total: number, file: string) => void;
}

export interface PreparedItem {
  /** path relative to the imported folder, forward slashes */
  file: string;
  format: ImageFormat;
  /** source dimensions as displayed (after EXIF orientation) */
  width: number;
  height: number;
  /** sha256 (hex) of the source file's bytes */
  sha256: string;
  /** absolute path of the thumbnail PNG */
  thumbFile: string;
  /** this item's index in the cache */
  index: number;
}

export interface DuplicateFile {
  file: string;
  /** the imported file with the same bytes */
  duplicateOf: string;
  sha256: string;
}

export interface ImportResult {
  /** the imported folder, absolute real path */
  root: string;
  items: PreparedItem[];
  errors: ImportError[];
  duplicates: DuplicateFile[];
  /** operating-system junk skipped silently (folders end in '/') */
  skipped: string[];
  /** sidecar files (captions, metadata) left aside quietly */
  sidecars: string[];
  size: number;
  background: string;
  crop: CropMode;
  cache: { path: string; size: number; channels: number; count: number; bytes: number };
}

interface Done {
  file: string;
  format: ImageFormat;
  width: number;
  height: number;
  sha256: string;
  thumbFile: string;
  rgb: Uint8Array;
}

function countByCode(errors: readonly ImportError[]): string {
  const counts = new Map<string, number>();
  for (const e of errors) counts.set(e.code, (counts.get(e.code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${n} ${code}`).join(', ');
}

/**
 * Imports the images of `dir` (recursively). Bad files are returned in `errors` with a code and a
 * message; the import still succeeds when at least one image is usable. Throws `DatasetError`:
 * `not_found` / `not_a_folder` / `unreadable` (the folder), `no_images`, `invalid_option`,
 * `cancelled`.
 */
export async function importFolder(dir: string, opts: ImportOptions): Promise<ImportResult> {
  if (!opts || typeof opts !== 'object') throw new DatasetError('invalid_option', 'importFolder needs options: at least thumbDir and cachePath.');
  const o = resolvePrepareOptions({
    size: opts.size ?? DEFAULT_IMAGE_SIZE,
    background: opts.background,
    crop: opts.crop,
    thumbSize: opts.thumbSize,
    limits: opts.limits,
  });
  if (typeof opts.thumbDir !== 'string' || !opts.thumbDir) throw new DatasetError('invalid_option', 'importFolder needs thumbDir: the folder for thumbnails.');
  if (typeof opts.cachePath !== 'string' || !opts.cachePath) throw new DatasetError('invalid_option', 'importFolder needs cachePath: the cache file to write.');
  const concurrency = Math.max(1, Math.min(16, Math.floor(opts.concurrency ?? defaultConcurrency())));
  const { signal } = opts;

  const walk = await walkFolder(dir, signal);
  const what = `Import of ${walk.root}`;
  const total = walk.candidates.length;
  opts.onProgress?.(0, total, '');

  const thumbDir = path.resolve(opts.thumbDir);
  const created: string[] = [];
  const thumbWrites = new Map<string, Promise<string>>();
  const writeThumb = (sha256: string, png: Buffer): Promise<string> => {
    let p = thumbWrites.get(sha256);
    if (!p) {
      const file = path.join(thumbDir, `${sha256.slice(0, 16)}.png`);
      p = (async () => {
        const existed = await access(file).then(() => true, () => false);
        await atomicWriteFile(file, [png]);
        if (!existed) created.push(file);
        return file;
      })();
      thumbWrites.set(sha256, p);
    }
    return p;
  };

  let ok = false;
  let madeThumbDir: string | undefined;
  try {
    throwIfAborted(signal, what);
    madeThumbDir = await mkdir(thumbDir, { recursive: true });
    let done = 0;
    const results = await mapLimit(
      walk.candidates,
      concurrency,
      async (c): Promise<Done | ImportError> => {
        let out: Done | ImportError;
        let p;
        try {
          p = await prepareBytes(await readFileChecked(c.absPath, o.limits), o, c.file);
        } catch (e) {
          p = toImportError(c.file, e);
        }
        if ('code' in p) out = p;
        else {
          // a failure to write a thumbnail is the disk's problem, not the image's: it fails the import
          const thumbFile = await writeThumb(p.sha256, p.thumbPng);
          out = { file: c.file, format: p.format, width: p.width, height: p.height, sha256: p.sha256, thumbFile, rgb: p.rgb };
        }
        opts.onProgress?.(++done, total, c.file);
        return out;
      },
      signal,
    );
    throwIfAborted(signal, what);

    const errors: ImportError[] = [...walk.errors];
    const items: PreparedItem[] = [];
    const rgbs: Uint8Array[] = [];
    const duplicates: DuplicateFile[] = [];
    const firstBySha = new Map<string, string>();
    for (const r of results) {
      if (!r) continue;
      if ('code' in r) {
        errors.push(r);
        continue;
      }
      const first = firstBySha.get(r.sha256);
      if (first !== undefined) {
        duplicates.push({ file: r.file, duplicateOf: first, sha256: r.sha256 });
        continue;
      }
      firstBySha.set(r.sha256, r.file);
      items.push({ file: r.file, format: r.format, width: r.width, height: r.height, sha256: r.sha256, thumbFile: r.thumbFile, index: items.length });
      rgbs.push(r.rgb);
    }
    errors.sort((a, b) => comparePaths(a.file, b.file));

    if (items.length === 0) {
      const checked = total + walk.errors.length;
      const message =
        checked === 0
          ? `No images found in ${walk.root}${walk.sidecars.length ? ` (only caption or metadata files such as ${walk.sidecars[0]})` : walk.skipped.length ? ' (only system files such as .DS_Store)' : ''}. Put ${SUPPORTED_LIST} files in it (subfolders are searched too) and import again.`
          : `No usable images in ${walk.root}: ${checked} file${checked === 1 ? '' : 's'} checked, none could be imported (${countByCode(errors)}). See the list of problems, fix or replace those files (${SUPPORTED_LIST}), and import again.`;
      throw new DatasetError('no_images', message, { errors, skipped: walk.skipped, sidecars: walk.sidecars });
    }

    const per = o.size * o.size * 3;
    const pixels = new Uint8Array(items.length * per);
    rgbs.forEach((rgb, i) => pixels.set(rgb, i * per));
    const cachePath = path.resolve(opts.cachePath);
    await writeCache(cachePath, { size: o.size, count: items.length, channels: 3, pixels }, { signal });
    ok = true;
    return {
      root: walk.root,
      items,
      errors,
      duplicates,
      skipped: walk.skipped,
      sidecars: walk.sidecars,
      size: o.size,
      background: o.background.hex,
      crop: o.crop,
      cache: { path: cachePath, size: o.size, channels: 3, count: items.length, bytes: CACHE_HEADER_BYTES + pixels.length },
    };
  } finally {
    if (!ok) {
      await Promise.allSettled([...thumbWrites.values()]);
      await Promise.all(created.map((f) => unlink(f).catch(() => undefined)));
      // remove the folders this call created, deepest first, as long as they are empty
      if (madeThumbDir) {
        for (let d = thumbDir; d.length >= madeThumbDir.length; d = path.dirname(d)) {
          if (!(await rmdir(d).then(() => true, () => false))) break;
        }
      }
    }
  }
}
