/**
 * File commits for exports. The atomic-write machinery (temp files, the no-clobber move, stale-temp
 * cleanup) is the one in db/files.ts, re-exported here for the gallery's callers; this file adds
 * only the exports' cancellation error.
 */
import { AbortError } from '../diffusion/samplers/common';

export { commitNoClobber, fsyncDir, numberedName, removeStaleTemps, STAGING_PREFIX, TEMP_SUFFIX, tempNameFor, writeNewFile, writeTemp } from '../db/files';

/** Cancellation error with a stable name, as AbortSignal.throwIfAborted would raise. */
export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new AbortError('The export was cancelled.');
}

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}
