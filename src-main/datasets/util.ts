import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isNoSpaceErrno, StorageFullError } from '../store/files';

/**
 * Files in flight at once: 2 to 4 by CPU count. Each image is fully decoded (up to the pixel limit,
 * 3 bytes a pixel), so this also bounds memory; sharp/libvips add their own threads per image.
 */
export function defaultConcurrency(): number {
  return Math.max(2, Math.min(4, os.availableParallelism()));
}

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the input order.
 * Stops starting new items once `signal` fires or an item throws (items already started
 * finish); when one threw, the first error is rethrown after every started item has settled,
 * so nothing is still running when the caller cleans up.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<(R | undefined)[]> {
  const out: (R | undefined)[] = new Array(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async () => {
    while (next < items.length && !failed && !signal?.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        if (!failed) firstError = e;
        failed = true;
      }
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failed) throw firstError;
  return out;
}

/** Best-effort fsync of a directory (makes a rename durable; not possible on Windows). */
async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows and some file systems refuse to open/sync directories: the rename is still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Writes `chunks` to `file` atomically: a temp file in the same directory, fsync, rename, fsync
 * of the directory. Readers see the old file or the whole new one, never a part. When
 * `beforeRename` throws (e.g. a cancellation check) the temp file is removed and nothing changes.
 * A full disk (ENOSPC, EDQUOT, EROFS) becomes the store's StorageFullError, naming the folder.
 */
export async function atomicWriteFile(file: string, chunks: readonly Uint8Array[], beforeRename?: () => void): Promise<void> {
  try {
    await writeChunksAtomic(file, chunks, beforeRename);
  } catch (e) {
    if (isNoSpaceErrno(e)) throw new StorageFullError((e as NodeJS.ErrnoException).code!, file, path.dirname(file));
    throw e;
  }
}

async function writeChunksAtomic(file: string, chunks: readonly Uint8Array[], beforeRename?: () => void): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  let ok = false;
  try {
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.byteLength) {
          const { bytesWritten } = await fh.write(c, off, c.byteLength - off);
          off += bytesWritten;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    beforeRename?.();
    await rename(tmp, file);
    ok = true;
  } finally {
    if (!ok) await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dir);
}
