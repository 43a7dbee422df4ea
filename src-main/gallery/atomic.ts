/**
 * File commits for exports: a temp file in the destination folder, fsync, then a move into place
 * that NEVER replaces an existing file (unlike rename, which silently overwrites).
 *
 * No-clobber move: link(tmp, final) fails with EEXIST when `final` exists, atomically, and a
 * crash leaves either no `final` or the whole file (the temp had been fsynced). Where hard links
 * are unsupported (FAT, some network shares) we fall back to "check, then rename": a tiny race
 * window, documented here, and still never a partial file.
 *
 * Temp files are named `.<name>.<pid>.<random>.sfumato-tmp`; `removeStaleTemps` deletes those of
 * processes that no longer run (a kill -9 mid-export leaves one behind, never the final name).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, TEMP_SUFFIX, tempNameFor, writeTemp } from '../store/files';
import { AbortError } from '../diffusion/samplers/common';

// The temp-file writer is the store's (one implementation for every atomic write); exports add
// the no-clobber move and stale-temp cleanup below.
export { fsyncDir, TEMP_SUFFIX, tempNameFor, writeTemp };

const TEMP_RE = /^\..*\.(\d+)\.[0-9a-f]{12}\.sfumato-tmp$/;
export const STAGING_PREFIX = '.sfumato-export-';
const STAGING_RE = /^\.sfumato-export-(\d+)-[A-Za-z0-9]{6}$/;

/** Cancellation error with a stable name, as AbortSignal.throwIfAborted would raise. */
export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new AbortError('The export was cancelled.');
}

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

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

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes temp files and staging folders that earlier exports left in `dir` when their process
 * died (kill -9, power loss). Those of running processes are left alone. Returns what it removed.
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
    const m = TEMP_RE.exec(n) ?? STAGING_RE.exec(n);
    if (!m || pidAlive(Number(m[1]))) continue;
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
