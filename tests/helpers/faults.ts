/** Shared helpers for the fault tests: waiting for a condition, holding SQLite's write lock. */
import sqlite3 from 'sqlite3';

/** Polls `fn` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 20): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A second, independent connection to the library's database that takes the write lock
 * (`BEGIN IMMEDIATE`) and holds it until `release()`, as another program on the same file would.
 */
export async function holdWriteLock(file: string): Promise<{ release: () => Promise<void> }> {
  const other = await new Promise<sqlite3.Database>((res, rej) => {
    const d = new sqlite3.Database(file, (e) => (e ? rej(e) : res(d)));
  });
  other.configure('busyTimeout', 30_000);
  const exec = (sql: string) => new Promise<void>((res, rej) => other.exec(sql, (e) => (e ? rej(e) : res())));
  await exec('BEGIN IMMEDIATE');
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        await exec('COMMIT');
        await new Promise<void>((res) => other.close(() => res()));
      })()),
  };
}
