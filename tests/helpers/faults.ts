/** Shared helpers for the fault tests: waiting for a condition, holding SQLite's write lock. */
import sqlite3 from 'sqlite3';
import { Sfumato } from '../../src-main/services/sfumato';
import { EMOJI_DIR, TINY_CONFIG } from './library';

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

/**
 * Opens services on one library and closes them all (newest first) at the end of a test file;
 * `closeAll` never throws, so a test that left a service half-closed does not hide its failure.
 */
export function serviceOpener(libraryPath: () => string, mode: 'cli' | 'web') {
  const opened: Sfumato[] = [];
  return {
    open: async (extra: Partial<Parameters<typeof Sfumato.open>[0]> = {}): Promise<Sfumato> => {
      const x = await Sfumato.open({ libraryPath: libraryPath(), mode, ...extra });
      opened.push(x);
      return x;
    },
    closeAll: async (): Promise<void> => {
      for (const x of opened.reverse()) await x.close().catch(() => undefined);
    },
  };
}

/** Imports the emoji fixture at 16 px and trains a tiny 2-step run on it: a run to sample from. */
export async function tinyTrainedRun(s: Sfumato): Promise<{ datasetId: string; runId: string }> {
  const datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 })).dataset.id;
  const r = await (await s.startRun({ datasetId, seed: 1, config: { ...TINY_CONFIG, steps: 2, workers: 1 } })).done;
  if (r.status !== 'completed') throw new Error(`the tiny fixture run ended ${r.status}: ${r.error ?? ''}`);
  return { datasetId, runId: r.id };
}
