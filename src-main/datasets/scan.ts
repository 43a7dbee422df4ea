/**
 * Recursive scan of an image folder: every file is read, sniffed, checked and (by default)
 * fully decoded; good files come back as `ScannedFile`s, bad ones as `ImportError`s.
 *
 * Walk rules:
 * - Paths are relative to the folder with forward slashes, sorted folder by folder
 *   (see {@link comparePaths}), so the result does not depend on the file system's order.
 * - Names are read as bytes: a name that is not valid UTF-8 (e.g. Latin-1 from an old archive)
 *   is still read through its byte path and shown with U+FFFD in place of the bad bytes.
 * - Operating-system junk is skipped silently and listed in `skipped`: `.DS_Store`, `._*`
 *   (AppleDouble), `Thumbs.db`, `desktop.ini`, `.git/`, `__MACOSX/`, `@eaDir/`, … Other
 *   hidden (dot) files and folders are treated like any other: an image is imported, anything
 *   else is reported `unsupported` (a user who hid a picture still sees what happened to it).
 * - Known sidecar files that live beside images are left aside quietly, listed in `sidecars` (not
 *   reported as problems): caption files (`.txt`, `.caption`) and metadata (`.json`, `.xmp`,
 *   `.aae`, `.yaml`, `.yml`). Captions are counted ({@link isCaptionFile}) but not used yet.
 * - Symbolic links are followed only when their target is inside the folder (each folder is
 *   visited once, so link loops end); a link that leads outside is reported `unsupported`, a
 *   broken one `unreadable`. FIFOs, sockets and devices are never opened (`unsupported`).
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ImportError } from '../api/types';
import { DatasetError, throwIfAborted } from './errors';
import { checkFileSize, checkImageBytes, decodeStrict, DEFAULT_LIMITS, sha256Hex, type ImportLimits } from './inspect';
import type { ImageFormat } from './sniff';
import { readRegularFile } from './user-file';
import { defaultConcurrency, mapLimit } from './util';

/** A path as the file system takes it: a string, or the raw bytes of a name that is not UTF-8. */
export type FsPath = string | Buffer;

export interface ScannedFile {
  /** path relative to the scanned folder, forward slashes */
  file: string;
  /** absolute path to open the file with (bytes when the name is not valid UTF-8) */
  absPath: FsPath;
  /** file size in bytes */
  bytes: number;
  format: ImageFormat;
  /** dimensions as displayed (after EXIF orientation) */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** sha256 (hex) of the file's bytes */
  sha256: string;
}

export interface ScanProgress {
  /** files checked so far, files found in all, and the file just checked ('' for the first call) */
  (done: number, total: number, file: string): void;
}

export interface ScanOptions {
  signal?: AbortSignal;
  onProgress?: ScanProgress;
  /** decode every pixel to prove the file is whole (default true); false checks headers only */
  decode?: boolean;
  /** files checked in parallel (default 2–4 by CPU count) */
  concurrency?: number;
  limits?: Partial<ImportLimits>;
}

export interface ScanResult {
  files: ScannedFile[];
  errors: ImportError[];
  /** junk skipped silently (folders end in '/') */
  skipped: string[];
}

/** A file found by the walk, not yet checked. */
export interface Candidate {
  file: string;
  absPath: FsPath;
}

export interface WalkResult {
  /** the folder, resolved to an absolute real path */
  root: string;
  candidates: Candidate[];
  errors: ImportError[];
  skipped: string[];
  /** sidecar files (captions, metadata) left aside quietly */
  sidecars: string[];
}

const SIDECAR_EXTENSIONS = new Set(['txt', 'caption', 'json', 'xmp', 'aae', 'yaml', 'yml']);
const CAPTION_EXTENSIONS = new Set(['txt', 'caption']);

function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** A sidecar file by its name: a caption or metadata file that sits beside images. */
export function isSidecarFile(name: string): boolean {
  return SIDECAR_EXTENSIONS.has(extOf(name.split('/').pop() ?? name));
}

/** A caption sidecar (`.txt`, `.caption`) by its name. */
export function isCaptionFile(name: string): boolean {
  return CAPTION_EXTENSIONS.has(extOf(name.split('/').pop() ?? name));
}

const JUNK_FILES = new Set(['.ds_store', 'thumbs.db', 'ehthumbs.db', 'ehthumbs_vista.db', 'desktop.ini', '.localized', 'icon\r', '.directory']);
const JUNK_DIRS = new Set([
  '.git', '.svn', '.hg', '__macosx', '@eadir', '.trashes', '.trash', '.spotlight-v100', '.fseventsd',
  '.temporaryitems', '.documentrevisions-v100', '$recycle.bin', 'system volume information', '.ipynb_checkpoints',
]);

function isJunkFile(name: string): boolean {
  return JUNK_FILES.has(name.toLowerCase()) || name.startsWith('._');
}

/** Orders relative paths folder by folder (segment-wise, by UTF-16 code units; locale-independent). */
export function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  const n = Math.min(as.length, bs.length);
  for (let i = 0; i < n; i++) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}

function childPath(parent: FsPath, name: Buffer): FsPath {
  const s = name.toString('utf8');
  if (typeof parent === 'string' && Buffer.from(s, 'utf8').equals(name)) return path.join(parent, s);
  const p = typeof parent === 'string' ? Buffer.from(parent, 'utf8') : parent;
  return Buffer.concat([p, Buffer.from(path.sep), name]);
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? '';
}

/** The `unreadable` message for a file-system error. */
export function fsErrorMessage(e: unknown, what: 'file' | 'folder' = 'file'): string {
  const code = errnoOf(e);
  if (code === 'EACCES' || code === 'EPERM')
    return `${what} cannot be read: permission denied. Give your user read access (for example chmod u+r${what === 'folder' ? 'x' : ''}) and import again.`;
  if (code === 'ENOENT') return `${what} disappeared while it was being imported. Import again once the folder has stopped changing.`;
  if (code === 'EIO') return `${what} cannot be read: input/output error (the disk or network share may be failing). Copy it again, then import.`;
  if (code === 'ELOOP') return `${what} is a loop of symbolic links. Remove the link.`;
  const detail = code || (e instanceof Error ? e.message : String(e));
  return `${what} cannot be read (${detail}). Check the ${what} and the disk, then import again.`;
}

/** Resolves and checks the folder to import; throws `DatasetError` naming it and what to do. */
export async function resolveFolder(dir: string): Promise<string> {
  if (typeof dir !== 'string' || dir.trim() === '') throw new DatasetError('invalid_option', 'No folder given: choose the folder that holds your images.');
  const abs = path.resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR')
      throw new DatasetError('not_found', `Folder not found: ${abs}. Check the path (it is case-sensitive on most systems) and try again.`);
    throw new DatasetError('unreadable', `Folder ${abs} ${fsErrorMessage(e, 'folder').replace(/^folder /, '')}`);
  }
  if (!st.isDirectory()) throw new DatasetError('not_a_folder', `${abs} is a file, not a folder. Choose the folder that holds your images.`);
  try {
    return await realpath(abs);
  } catch (e) {
    throw new DatasetError('unreadable', `Folder ${abs} ${fsErrorMessage(e, 'folder').replace(/^folder /, '')}`);
  }
}

/** Walks `dir` recursively (rules in the module comment). Throws for a folder that cannot be imported at all. */
export async function walkFolder(dir: string, signal?: AbortSignal): Promise<WalkResult> {
  const root = await resolveFolder(dir);
  const rootBuf = Buffer.from(root, 'utf8');
  const prefix = root.endsWith(path.sep) ? rootBuf : Buffer.concat([rootBuf, Buffer.from(path.sep)]);
  const inside = (real: Buffer) => real.equals(rootBuf) || (real.length > prefix.length && real.subarray(0, prefix.length).equals(prefix));
  const visited = new Set<string>([rootBuf.toString('latin1')]);
  const candidates: Candidate[] = [];
  const errors: ImportError[] = [];
  const skipped: string[] = [];
  const sidecars: string[] = [];
  const what = `Scanning ${root}`;

  const visit = async (abs: FsPath, rel: string): Promise<void> => {
    let names: Buffer[];
    try {
      names = await readdir(abs, { encoding: 'buffer' });
    } catch (e) {
      if (rel === '') throw new DatasetError('unreadable', `Folder ${root} ${fsErrorMessage(e, 'folder').replace(/^folder /, '')}`);
      errors.push({ file: `${rel}/`, code: 'unreadable', message: fsErrorMessage(e, 'folder') });
      return;
    }
    names.sort(Buffer.compare);
    for (const name of names) {
      throwIfAborted(signal, what);
      const display = name.toString('utf8');
      const childRel = rel ? `${rel}/${display}` : display;
      const childAbs = childPath(abs, name);
      let lst;
      try {
        lst = await lstat(childAbs);
      } catch (e) {
        errors.push({ file: childRel, code: 'unreadable', message: fsErrorMessage(e) });
        continue;
      }
      let st = lst;
      if (lst.isSymbolicLink()) {
        let real: Buffer;
        try {
          real = await realpath(childAbs, { encoding: 'buffer' });
          st = await stat(childAbs);
        } catch (e) {
          const msg = errnoOf(e) === 'ENOENT'
            ? 'is a broken link: what it points to does not exist. Remove the link or restore its target.'
            : fsErrorMessage(e);
          errors.push({ file: childRel, code: 'unreadable', message: msg });
          continue;
        }
        if (!inside(real)) {
          errors.push({
            file: childRel,
            code: 'unsupported',
            message: 'is a link to a place outside the imported folder and was not followed. Copy the files into the folder instead, or import the folder it points to.',
          });
          continue;
        }
        if (st.isDirectory()) {
          const key = real.toString('latin1');
          if (visited.has(key)) {
            skipped.push(`${childRel}/`);
            continue;
          }
          visited.add(key);
          await visit(childAbs, childRel);
          continue;
        }
      }
      if (st.isDirectory()) {
        if (JUNK_DIRS.has(display.toLowerCase())) {
          skipped.push(`${childRel}/`);
          continue;
        }
        let key: string;
        try {
          key = (await realpath(childAbs, { encoding: 'buffer' })).toString('latin1');
        } catch (e) {
          errors.push({ file: `${childRel}/`, code: 'unreadable', message: fsErrorMessage(e, 'folder') });
          continue;
        }
        if (visited.has(key)) {
          skipped.push(`${childRel}/`);
          continue;
        }
        visited.add(key);
        await visit(childAbs, childRel);
      } else if (st.isFile()) {
        if (isJunkFile(display)) skipped.push(childRel);
        else if (isSidecarFile(display)) sidecars.push(childRel);
        else candidates.push({ file: childRel, absPath: childAbs });
      } else {
        errors.push({
          file: childRel,
          code: 'unsupported',
          message: 'not a regular file (a pipe, socket or device), so it was not opened. Remove it from the folder.',
        });
      }
    }
  };

  await visit(root, '');
  candidates.sort((a, b) => comparePaths(a.file, b.file));
  errors.sort((a, b) => comparePaths(a.file, b.file));
  skipped.sort(comparePaths);
  sidecars.sort(comparePaths);
  return { root, candidates, errors, skipped, sidecars };
}

/**
 * Reads a file after checking its size (so a huge file is refused without reading it) and that it
 * is a regular file (a FIFO swapped in after the walk is refused, never waited on).
 * Throws `DatasetError` with `empty`, `too_large`, `unsupported` or `unreadable`.
 */
export async function readFileChecked(absPath: FsPath, limits: ImportLimits): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readRegularFile(absPath, limits.maxBytes);
  } catch (e) {
    if (e instanceof DatasetError && e.code === 'too_large') checkFileSize((e.details as { bytes?: number } | undefined)?.bytes ?? limits.maxBytes + 1, limits);
    if (e instanceof DatasetError && e.code === 'empty') checkFileSize(0, limits);
    if (e instanceof DatasetError && e.code === 'unsupported')
      throw new DatasetError('unsupported', 'not a regular file (a pipe, socket or device), so it was not opened. Remove it from the folder.');
    if (e instanceof DatasetError && e.code === 'not_found') throw new DatasetError('unreadable', fsErrorMessage(Object.assign(new Error('gone'), { code: 'ENOENT' })));
    if (e instanceof DatasetError) throw new DatasetError('unreadable', `file ${e.message}`);
    throw new DatasetError('unreadable', fsErrorMessage(e));
  }
  checkFileSize(data.length, limits);
  return data;
}

export type Inspected = { ok: true; file: ScannedFile; data: Buffer } | { ok: false; error: ImportError };

/** Converts a thrown error about `file` into an ImportError (unexpected errors become `corrupt`). */
export function toImportError(file: string, e: unknown): ImportError {
  if (e instanceof DatasetError && ['unsupported', 'corrupt', 'empty', 'unreadable', 'too_large'].includes(e.code))
    return { file, code: e.code as ImportError['code'], message: e.message };
  if (e instanceof DatasetError) throw e;
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return { file, code: 'corrupt', message: `cannot be processed (${msg}). Export the image again as PNG or JPEG, or remove it from the folder.` };
}

/** Reads and checks one candidate; `decode` also decodes every pixel. */
export async function inspectCandidate(c: Candidate, limits: ImportLimits, decode: boolean): Promise<Inspected> {
  try {
    const data = await readFileChecked(c.absPath, limits);
    const info = await checkImageBytes(data, c.file, limits);
    if (decode) await decodeStrict(data, info.format, { r: 255, g: 255, b: 255 });
    return {
      ok: true,
      data,
      file: { file: c.file, absPath: c.absPath, bytes: data.length, ...info, sha256: sha256Hex(data) },
    };
  } catch (e) {
    return { ok: false, error: toImportError(c.file, e) };
  }
}

/**
 * Scans `dir` recursively and checks every file. Throws `DatasetError` (`not_found`,
 * `not_a_folder`, `unreadable`, `cancelled`) when the folder itself cannot be scanned; bad files
 * are returned in `errors`, never thrown. `onProgress` is called with (0, total, '') once the
 * walk is done and after each file.
 */
export async function scanFolder(dir: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const walk = await walkFolder(dir, opts.signal);
  const total = walk.candidates.length;
  opts.onProgress?.(0, total, '');
  let done = 0;
  const results = await mapLimit(
    walk.candidates,
    Math.max(1, Math.min(16, Math.floor(opts.concurrency ?? defaultConcurrency()))),
    async (c) => {
      const r = await inspectCandidate(c, limits, opts.decode ?? true);
      opts.onProgress?.(++done, total, c.file);
      return r;
    },
    opts.signal,
  );
  throwIfAborted(opts.signal, `Scanning ${walk.root}`);
  const files: ScannedFile[] = [];
  const errors = [...walk.errors];
  for (const r of results) {
    if (!r) continue;
    if (r.ok) files.push(r.file);
    else errors.push(r.error);
  }
  errors.sort((a, b) => comparePaths(a.file, b.file));
  return { files, errors, skipped: walk.skipped };
}
