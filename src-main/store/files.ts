import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path, { basename, dirname } from 'node:path';
import { DomainError } from '../api/errors';

/** Temp files are named `.<name>.<pid>.<random>.sfumato-tmp` (gallery/atomic.ts cleans up stale ones). */
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

/** Writes `data` to a new temp file in `dir` (exclusive create), fsyncs it, returns its path. */
export async function writeTemp(dir: string, nameHint: string, data: Uint8Array): Promise<string> {
  const tmp = path.join(dir, tempNameFor(nameHint));
  const fh = await fs.open(tmp, 'wx');
  try {
    await writeAll(fh, data);
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
 * any error removes the temp file (`writeTemp` above is the one temp-file writer; gallery/atomic.ts
 * adds the exports' no-clobber move on top of it). A full disk (ENOSPC, EDQUOT,
 * EROFS) becomes a StorageFullError naming `folder` (the library folder; default: the file's).
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string, opts: { folder?: string } = {}): Promise<void> {
  const dir = dirname(file);
  let tmp: string | undefined;
  try {
    await fs.mkdir(dir, { recursive: true });
    tmp = await writeTemp(dir, basename(file), typeof data === 'string' ? Buffer.from(data) : data);
    await fs.rename(tmp, file);
    tmp = undefined;
  } catch (e) {
    if (tmp) await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (isNoSpaceErrno(e)) throw new StorageFullError((e as NodeJS.ErrnoException).code!, file, opts.folder ?? dir);
    throw e;
  }
  await fsyncDir(dir);
}
