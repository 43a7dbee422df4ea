import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path, { basename, dirname } from 'node:path';
import { DomainError } from '../api/errors';
import { isPidAlive } from '../proc';

/**
 * The one atomic-write module: every file the app writes goes through a temp file in the target's
 * folder (`writeTemp`), then either a rename over the target (`writeFileAtomic`) or a move that
 * never replaces an existing file (`commitNoClobber`, `writeNewFile`, for exports and files the
 * user named). `removeStaleTemps` deletes the temps of processes that died mid-write.
 *
 * Temp files are named `.<name>.<pid>.<random>.sfumato-tmp`.
 */
export const TEMP_SUFFIX = '.sfumato-tmp';

export function tempNameFor(name: string): string {
  // Keep the temp name short enough for 255-byte file-name limits.
  const base = name.length > 120 ? name.slice(0, 120) : name;
  return `.${base}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
}

export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows and some file systems cannot fsync a directory; the rename/link is still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

async function writeAll(fh: fs.FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) {
    const { bytesWritten } = await fh.write(data, off, data.byteLength - off);
    off += bytesWritten;
  }
}

/** Writes `data` (one buffer, or chunks in order) to a new temp file in `dir` (exclusive create), fsyncs it, returns its path. */
export async function writeTemp(dir: string, nameHint: string, data: Uint8Array | readonly Uint8Array[]): Promise<string> {
  const tmp = path.join(dir, tempNameFor(nameHint));
  const fh = await fs.open(tmp, 'wx');
  try {
    for (const chunk of data instanceof Uint8Array ? [data] : data) await writeAll(fh, chunk);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  // close can report a deferred write error (network file systems): no temp file stays behind.
  await fh.close().catch(async (e: unknown) => {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  });
  return tmp;
}

/** errno codes that mean "no room to write here": full disk, quota, read-only file system. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/** A write that failed because the disk is full, over quota or read-only; names the folder. */
export class StorageFullError extends DomainError {
  /** the user must free space: not a bug */
  readonly apiCode = 'unavailable';
  override apiDetails(): { code: string; file: string } {
    return { code: this.code, file: this.file };
  }
  constructor(
    readonly code: string,
    readonly file: string,
    folder: string,
  ) {
    super(
      `Could not write ${file}: ${code === 'EROFS' ? 'the disk is read-only' : code === 'EDQUOT' ? 'the disk quota is exhausted' : 'the disk is full'} (${code}); nothing was half-written. Free space on the disk that holds the library folder ${folder} and try again.`,
    );
    this.name = 'StorageFullError';
  }
}

export function isNoSpaceErrno(e: unknown): boolean {
  return NO_SPACE.has((e as NodeJS.ErrnoException)?.code ?? '');
}

/** The library folder of an absolute path whose library-relative form is `rel` (job specs carry both). */
export function libraryRootOf(abs: string, rel: string): string {
  const tail = rel.split('/').filter(Boolean).length;
  let root = abs;
  for (let i = 0; i < tail; i++) root = dirname(root);
  return root;
}

/**
 * Write a file atomically: write to a temp file in the same folder, fsync it, rename over the
 * target, then fsync the folder. A crash leaves either the old file or the new one, never half;
 * any error removes the temp file (`writeTemp` above is the one temp-file writer). `data` may be
 * chunks (written in order, never concatenated). When `beforeRename` throws (a cancellation
 * check) the temp file is removed and nothing changes. A full disk (ENOSPC, EDQUOT,
 * EROFS) becomes a StorageFullError naming `folder` (the library folder; default: the file's).
 */
export async function writeFileAtomic(
  file: string,
  data: Uint8Array | string | readonly Uint8Array[],
  opts: { folder?: string; beforeRename?: () => void } = {},
): Promise<void> {
  const dir = dirname(file);
  let tmp: string | undefined;
  try {
    await fs.mkdir(dir, { recursive: true });
    tmp = await writeTemp(dir, basename(file), typeof data === 'string' ? Buffer.from(data) : data);
    opts.beforeRename?.();
    await fs.rename(tmp, file);
    tmp = undefined;
  } catch (e) {
    if (tmp) await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (isNoSpaceErrno(e)) throw new StorageFullError((e as NodeJS.ErrnoException).code!, file, opts.folder ?? dir);
    throw e;
  }
  await fsyncDir(dir);
}

// --- no-clobber moves and stale temps ------------------------------------------------------
//
// No-clobber move: link(tmp, final) fails with EEXIST when `final` exists, atomically, and a
// crash leaves either no `final` or the whole file (the temp had been fsynced). Where hard links
// are unsupported (FAT, some network shares) we fall back to "check, then rename": a tiny race
// window, documented here, and still never a partial file.

const TEMP_RE = /^\..*\.(\d+)\.[0-9a-f]{12}\.sfumato-tmp$/;
/** Temps of older versions (`.<name>.<pid>.<8 or 12 hex>.tmp`), which libraries on disk may still hold. */
const OLD_TEMP_RE = /^\..*\.(\d+)\.(?:[0-9a-f]{8}|[0-9a-f]{12})\.tmp$/;
/** Staging folders of exports in flight: `.sfumato-export-<pid>-<6 characters>`. */
export const STAGING_PREFIX = '.sfumato-export-';
const STAGING_RE = /^\.sfumato-export-(\d+)-[A-Za-z0-9]{6}$/;

/** `name` with -1, -2, … before the extension: `a.png` -> `a-1.png`; `.hidden` keeps its dot. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}

/**
 * Moves `tmp` into `dir` under `name`, or `name-1`, `name-2`, … when taken (on disk or in
 * `taken`, compared case-insensitively for case-insensitive file systems). Never replaces a file.
 * Returns the final name (added to `taken`). With `renumber` false, a taken name throws EEXIST.
 */
export async function commitNoClobber(tmp: string, dir: string, name: string, taken: Set<string> = new Set(), renumber = true): Promise<string> {
  for (let n = 0; n < (renumber ? 100_000 : 1); n++) {
    const candidate = numberedName(name, n);
    if (taken.has(candidate.toLowerCase())) continue;
    const final = path.join(dir, candidate);
    try {
      await fs.link(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') throw e;
      // No hard links here: check-then-rename (small race window, see the file comment).
      const exists = await fs.lstat(final).then(
        () => true,
        () => false,
      );
      if (exists) continue;
      await fs.rename(tmp, final);
      taken.add(candidate.toLowerCase());
      return candidate;
    }
    await fs.unlink(tmp);
    taken.add(candidate.toLowerCase());
    return candidate;
  }
  const e = new Error(renumber ? `no free file name for ${name} in ${dir}` : `${path.join(dir, name)} already exists`) as NodeJS.ErrnoException;
  e.code = 'EEXIST';
  throw e;
}

/**
 * Deletes temp files (named either way: `.sfumato-tmp`, or an older version's `.tmp`) and staging
 * folders that earlier writes and exports left in `dir` when their process died (kill -9, power
 * loss). Those of running processes are left alone. Returns what it removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_RE.exec(n) ?? OLD_TEMP_RE.exec(n) ?? STAGING_RE.exec(n);
    if (!m || isPidAlive(Number(m[1]))) continue;
    await fs.rm(path.join(dir, n), { recursive: true, force: true }).catch(() => undefined);
    removed.push(n);
  }
  return removed;
}

/**
 * Writes a new file that the user named (an animation, …): a temp file in the same folder, fsync,
 * then a no-clobber move into place. Never replaces an existing file (EEXIST), never leaves a
 * partial file under `file`, and removes its temp file on any error (a full disk included).
 */
export async function writeNewFile(file: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const name = path.basename(file);
  const tmp = await writeTemp(dir, name, data);
  try {
    await commitNoClobber(tmp, dir, name, new Set(), false);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dir);
}
