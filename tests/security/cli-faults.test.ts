/**
 * Issue 11, items 2 and 4, as a user of `sfumato` sees them: the library database is locked by
 * another program for longer than the command's retry budget (SFUMATO_DB_RETRY_MS, short here).
 * The command must print its one JSON object (an error), exit 1, and leave no PNG without a row.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, EMOJI_DIR, TINY_CONFIG, tempDir } from '../helpers/library';
import { holdWriteLock } from '../helpers/faults';

let lib: ReturnType<typeof tempDir>;
let runId: string;
let datasetId: string;

function sfumato(args: string[]): { child: ReturnType<typeof execFile>; result: Promise<{ code: number; out: string; err: string }> } {
  let child!: ReturnType<typeof execFile>;
  const result = new Promise<{ code: number; out: string; err: string }>((resolve) => {
    child = execFile(process.execPath, [CLI, '--data-dir', lib.dir, ...args], { env: { ...process.env, SFUMATO_DB_RETRY_MS: '300' }, maxBuffer: 1 << 24 }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? -1) : 0, out, err }),
    );
  });
  return { child, result };
}

async function rowsAndFiles(): Promise<{ rows: string[]; pngs: string[] }> {
  const db = new sqlite3.Database(join(lib.dir, 'sfumato.db'));
  const rows = await new Promise<string[]>((res, rej) => db.all('SELECT file FROM samples', (e, r: { file: string }[]) => (e ? rej(e) : res(r.map((x) => x.file).sort()))));
  await new Promise<void>((res) => db.close(() => res()));
  const pngs = ((await fs.readdir(join(lib.dir, 'samples'), { recursive: true })) as string[])
    .filter((f) => f.endsWith('.png'))
    .map((f) => `samples/${f.split('\\').join('/')}`)
    .sort();
  const temps = ((await fs.readdir(join(lib.dir, 'samples'), { recursive: true })) as string[]).filter((f) => f.endsWith('tmp'));
  expect(temps).toEqual([]);
  return { rows, pngs };
}

beforeAll(async () => {
  lib = tempDir('sfumato-clifaults-');
  const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 })).dataset.id;
  const r = await (await s.startRun({ datasetId, seed: 1, config: { ...TINY_CONFIG, steps: 2, workers: 1 } })).done;
  expect(r.status).toBe('completed');
  runId = r.id;
  await s.close();
});
afterAll(() => lib?.cleanup());

describe('sfumato CLI under a locked database', () => {
  it('sample: the lock outlasts the retry budget: one JSON error, exit 1, no PNG without a row', { timeout: 180_000 }, async () => {
    const lock = await holdWriteLock(join(lib.dir, 'sfumato.db'));
    const cmd = sfumato(['sample', '--run', runId, '--count', '6', '--steps', '2', '--json']);
    // a guard against a hang only: long enough for a CLI start on a loaded machine
    const guard = setTimeout(() => void lock.release(), 100_000);
    const r = await cmd.result;
    clearTimeout(guard);
    await lock.release();
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as { error: { code: string; message: string } };
    expect(out.error.code).toBe('unavailable');
    expect(out.error.message).toMatch(/stayed locked by another program/);
    expect(out.error.message).toContain(lib.dir);
    const { rows, pngs } = await rowsAndFiles();
    expect(pngs).toEqual(rows);
  });

  it('train: the end of the run cannot be recorded: one JSON error, exit 1, and the run is recovered later', { timeout: 180_000 }, async () => {
    const cmd = sfumato(['train', '--dataset', datasetId, '--steps', '6', '--checkpoint-every', '2', '--batch', '4', '--base-channels', '8', '--channel-mults', '1,2', '--attention', '8', '--groups', '4', '--workers', '1', '--seed', '3', '--json']);
    // Take the lock once the new run's job is running.
    const reader = new sqlite3.Database(join(lib.dir, 'sfumato.db'));
    const running = async () =>
      new Promise<string | undefined>((res) => reader.get("SELECT id FROM runs WHERE status = 'running'", (e, row: { id: string } | undefined) => res(e ? undefined : row?.id)));
    let id: string | undefined;
    const t0 = Date.now();
    while (!(id = await running()) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((res) => reader.close(() => res()));
    expect(id).toMatch(/^run_/);
    const lock = await holdWriteLock(join(lib.dir, 'sfumato.db'));
    // a guard against a hang only: long enough for a CLI start on a loaded machine
    const guard = setTimeout(() => void lock.release(), 100_000);
    const r = await cmd.result;
    clearTimeout(guard);
    await lock.release();
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as { error: { code: string; message: string } };
    expect(out.error.code).toBe('unavailable');
    expect(out.error.message).toMatch(/stayed locked by another program/);
    // The next start finds the run's job gone and records it (failed, or interrupted when it has a checkpoint).
    const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
    try {
      const run = (await s.store.runs.get(id!))!;
      expect(['failed', 'interrupted']).toContain(run.status);
      const files = ((await fs.readdir(join(lib.dir, 'runs', id!, 'checkpoints')).catch(() => [])) as string[]).map((f) => `runs/${id}/checkpoints/${f}`).sort();
      expect(files).toEqual((await s.store.checkpoints.list(id!)).map((c) => c.file).sort());
      expect(await s.store.db.integrityCheck()).toBe('ok');
    } finally {
      await s.close();
    }
  });
});
