import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../db/files';

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

/**
 * Writes `chunks` to `file` atomically: a temp file in the same directory, fsync, rename, fsync
 * of the directory. Readers see the old file or the whole new one, never a part. When
 * `beforeRename` throws (e.g. a cancellation check) the temp file is removed and nothing changes.
 * A full disk (ENOSPC, EDQUOT, EROFS) becomes the store's StorageFullError, naming the folder.
 * (The one atomic writer, db/files.ts writeFileAtomic.)
 */
export async function atomicWriteFile(file: string, chunks: readonly Uint8Array[], beforeRename?: () => void): Promise<void> {
  await writeFileAtomic(file, chunks, { folder: path.dirname(file), beforeRename });
}
