/**
 * Issue 11, items 2, 4 and 6: a database locked by another connection, or a full disk, while jobs
 * write. Real job processes, a real SQLite file, and a real second sqlite3 connection that holds
 * the write lock (BEGIN IMMEDIATE … COMMIT). Full disks are injected in the job process at the
 * file-write layer (tests/security/fixtures/enospc.mjs), and in SQLite with PRAGMA max_page_count.
 *
 * Invariants checked after every fault: every PNG under samples/ has a gallery row and every row
 * its PNG; every checkpoint file has a row; no temp files; PRAGMA integrity_check is ok; this
 * process is still alive (an unhandled rejection fails the Vitest run).
 */
import { fork } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src-main/api/errors';
import type { FromJob } from '../../src-main/jobs/protocol';
import type { JobLauncher } from '../../src-main/jobs/launcher';
import { Sfumato } from '../../src-main/services/sfumato';
import { Db } from '../../src-main/db/db';
import { exportUNetToOnnx } from '../../src-main/onnx/export';
import { configOfWeights, parseWeights } from '../../src-main/network/weights';
import { EMOJI_DIR, ROOT, TINY_CONFIG, tempDir } from '../helpers/library';
import { holdWriteLock, until, serviceOpener, tinyTrainedRun } from '../helpers/faults';

const WORKER = join(ROOT, 'src-main', 'jobs', 'job-process.ts');
const ENOSPC = pathToFileURL(join(import.meta.dirname, 'fixtures', 'enospc.mjs')).href;

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let datasetId: string;
let runId: string;
const services = serviceOpener(() => lib.dir, 'cli');
const open = services.open;

/** Job processes whose file writes hit a full disk after `after` files matching `match`. */
function fullDiskLauncher(match: string, after: number): JobLauncher {
  return () => {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--import', ENOSPC],
      env: { ...process.env, SFUMATO_FAULT_ENOSPC_AFTER: String(after), SFUMATO_FAULT_ENOSPC_MATCH: match },
      stdio: ['ignore', 2, 2, 'ipc'],
      serialization: 'advanced',
    });
    return {
      pid: child.pid,
      send: (m) => {
        if (child.connected) child.send(m);
      },
      onMessage: (cb) => child.on('message', (m) => cb(m as FromJob)),
      onExit: (cb) => child.once('exit', (code, signal) => cb(code, signal)),
      kill: (sig = 'SIGTERM') => void child.kill(sig),
    };
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/** The invariants: rows == files for samples and checkpoints, no temp files, integrity ok. */
async function expectConsistentLibrary(): Promise<void> {
  const all = (await walk(lib.dir)).map((f) => relative(lib.dir, f).split('\\').join('/'));
  expect(all.filter((f) => /tmp$/.test(f) && !f.startsWith('tmp/'))).toEqual([]);
  const pngs = all.filter((f) => f.startsWith('samples/') && f.endsWith('.png')).sort();
  const sampleRows = (await s.store.db.all<{ file: string }>('SELECT file FROM samples')).map((r) => r.file).sort();
  expect(pngs).toEqual(sampleRows);
  const ckptFiles = all.filter((f) => f.startsWith('runs/') && f.endsWith('.sfwt')).sort();
  const ckptRows = (await s.store.db.all<{ file: string }>("SELECT file FROM checkpoints WHERE file LIKE 'runs/%'")).map((r) => r.file).sort();
  expect(ckptFiles).toEqual(ckptRows);
  expect(await s.store.db.integrityCheck()).toBe('ok');
}

beforeAll(async () => {
  lib = tempDir('sfumato-faults-');
  s = await open({ dbRetryMs: 60_000 });
  ({ datasetId, runId } = await tinyTrainedRun(s));
});

afterAll(async () => {
  await services.closeAll();
  lib?.cleanup();
});

describe('SQLite lock held by another connection', () => {
  it('sampling: 12 images while the write lock is held 8 s: 12 PNGs, 12 rows, exit clean', async () => {
    const lock = await holdWriteLock(s.library.dbFile);
    // Longer than the old 5 s busy timeout from the moment the first image arrives.
    const timer = setTimeout(() => void lock.release(), 8_000);
    try {
      const r = await s.generate({ runId, count: 12, seed: 100, steps: 2 });
      expect(r.cancelled).toBe(false);
      expect(r.samples).toHaveLength(12);
      for (const smp of r.samples) expect(await s.store.samples.get(smp.id)).toBeTruthy();
    } finally {
      clearTimeout(timer);
      await lock.release();
    }
    await expectConsistentLibrary();
  });

  it('training: the lock is held 8 s over the last steps: the run ends completed, every checkpoint has its row', async () => {
    const { run, done } = await s.startRun({ datasetId, seed: 2, config: { ...TINY_CONFIG, steps: 6, checkpointEvery: 2, keepCheckpoints: 0, workers: 1 } });
    await until('the job to start', async () => (await s.store.runs.get(run.id))?.status === 'running');
    const lock = await holdWriteLock(s.library.dbFile);
    const timer = setTimeout(() => void lock.release(), 8_000);
    let final;
    try {
      final = await done;
    } finally {
      clearTimeout(timer);
      await lock.release();
    }
    expect(final.error).toBeNull();
    expect(final.status).toBe('completed');
    expect(final.step).toBe(6);
    expect((await s.store.checkpoints.list(run.id)).map((c) => c.step)).toEqual([2, 4, 6]);
    expect((await s.store.runs.losses(run.id)).map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    await expectConsistentLibrary();
  });

  it('sampling: a lock held past the retry budget fails the job loudly; no PNG without a row', async () => {
    const short = await open({ dbRetryMs: 300 });
    const lock = await holdWriteLock(s.library.dbFile);
    const guard = setTimeout(() => void lock.release(), 20_000);
    let err: unknown;
    try {
      await short.generate({ runId, count: 6, seed: 200, steps: 2 });
    } catch (e) {
      err = e;
    } finally {
      clearTimeout(guard);
      await lock.release();
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('unavailable');
    expect((err as ApiError).message).toMatch(/^Sampling failed: The library database .*sfumato\.db stayed locked by another program/);
    expect((err as ApiError).message).toContain(lib.dir);
    expect((err as ApiError).details).toEqual({ samplesWritten: [] });
    await expectConsistentLibrary();
  });

  it('training: a lock held past the retry budget fails the run (recorded once the lock is gone); no orphan checkpoint', async () => {
    const short = await open({ dbRetryMs: 300 });
    const { run, done } = await short.startRun({ datasetId, seed: 3, config: { ...TINY_CONFIG, steps: 6, checkpointEvery: 2, keepCheckpoints: 0, workers: 1 } });
    await until('the job to start', async () => (await s.store.runs.get(run.id))?.status === 'running');
    const lock = await holdWriteLock(s.library.dbFile);
    // Release once a job write has given up, so the run's end can be recorded.
    short.jobs.once('handler-error', () => void lock.release());
    const guard = setTimeout(() => void lock.release(), 20_000);
    let final;
    try {
      final = await done;
    } finally {
      clearTimeout(guard);
      await lock.release();
    }
    expect(final.status).toBe('failed');
    expect(final.error).toMatch(/stayed locked by another program .*try again/);
    await expectConsistentLibrary();
  });

  it('a run whose end cannot be recorded rejects its done promise (handled: the process survives), then gets its true end once the lock is gone', async () => {
    const short = await open({ dbRetryMs: 300 });
    const { run, done } = await short.startRun({ datasetId, seed: 4, config: { ...TINY_CONFIG, steps: 4, checkpointEvery: 2, workers: 1 } });
    await until('the job to start', async () => (await s.store.runs.get(run.id))?.status === 'running');
    const lock = await holdWriteLock(s.library.dbFile);
    const guard = setTimeout(() => void lock.release(), 30_000);
    let err: unknown;
    try {
      await done;
    } catch (e) {
      err = e;
    } finally {
      clearTimeout(guard);
      await lock.release();
    }
    expect((err as ApiError).code).toBe('unavailable');
    expect((err as ApiError).message).toMatch(/stayed locked/);
    // Once the lock is gone, the same process records the run's true end in the background (the
    // job was stopped because its writes failed: `failed`, with that reason), not startup
    // recovery's generic "job process was gone", and not `running` with a dead pid.
    const ended = await until('the run end to be recorded', async () => {
      const r = await s.store.runs.get(run.id);
      return r && r.status !== 'running' && r.status !== 'queued' ? r : undefined;
    }, 30_000);
    expect(ended.status).toBe('failed');
    expect(ended.error).toMatch(/stayed locked by another program/);
    expect(ended.error).not.toMatch(/was gone/);
    const pid = await s.store.db.get<{ pid: number | null }>('SELECT pid FROM runs WHERE id = ?', [run.id]);
    expect(pid?.pid).toBeNull();
    await expectConsistentLibrary();
  });
});

describe('other writes under a lock past the retry budget leave no file without a row', () => {
  it('dataset import: no dataset folder (cache, thumbnails) without its row', async () => {
    const short = await open({ dbRetryMs: 300 });
    const before = await fs.readdir(join(lib.dir, 'datasets'));
    const lock = await holdWriteLock(s.library.dbFile);
    const err = await short.importDataset({ dir: EMOJI_DIR, imageSize: 16 }).catch((e: unknown) => e);
    await lock.release();
    expect((err as ApiError).code).toBe('unavailable');
    expect((err as ApiError).message).toMatch(/stayed locked/);
    expect(await fs.readdir(join(lib.dir, 'datasets'))).toEqual(before);
  });

  it('ONNX model import: no model file without its checkpoint row', async () => {
    const short = await open({ dbRetryMs: 300 });
    const ck = (await s.store.checkpoints.latest(runId))!;
    const parsed = parseWeights(new Uint8Array(await fs.readFile(s.library.abs(ck.file))));
    const onnx = join(lib.dir, 'tmp', 'model.onnx');
    await fs.writeFile(onnx, exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: 'eps', schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 }, appVersion: 'test' }));
    const lock = await holdWriteLock(s.library.dbFile);
    const err = await short.models.importOnnx({ file: onnx, prediction: 'eps', schedule: 'linear' }).catch((e: unknown) => e);
    await lock.release();
    await fs.rm(onnx);
    expect((err as ApiError).code).toBe('unavailable');
    const models = (await fs.readdir(join(lib.dir, 'models')).catch(() => [] as string[])).filter((f) => f.endsWith('.onnx'));
    const rows = (await s.store.db.all<{ file: string }>("SELECT file FROM checkpoints WHERE file LIKE 'models/%.onnx'")).map((r) => r.file.slice('models/'.length));
    expect(models.sort()).toEqual(rows.sort());
  });
});

describe('full disk', () => {
  it('sampling: the third PNG hits ENOSPC: a clear error naming the library folder, two rows, two PNGs, no temp file', async () => {
    const full = await open({ launcher: fullDiskLauncher('.png.', 2) });
    let err: unknown;
    try {
      await full.generate({ runId, count: 6, seed: 300, steps: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('unavailable');
    expect((err as ApiError).message).toMatch(/the disk is full \(ENOSPC\); nothing was half-written\. Free space on the disk that holds the library folder/);
    expect((err as ApiError).message).toContain(`library folder ${lib.dir} `);
    expect(((err as ApiError).details as { samplesWritten: string[] }).samplesWritten).toHaveLength(2);
    await expectConsistentLibrary();
  });

  it('training: the second checkpoint hits ENOSPC: the run fails with the library folder named, the first checkpoint stays usable', async () => {
    const full = await open({ launcher: fullDiskLauncher('.sfwt.', 1) });
    const { run, done } = await full.startRun({ datasetId, seed: 5, config: { ...TINY_CONFIG, steps: 4, checkpointEvery: 2, keepCheckpoints: 0, workers: 1 } });
    const final = await done;
    expect(final.status).toBe('failed');
    expect(final.error).toContain(`Free space on the disk that holds the library folder ${lib.dir} `);
    expect((await s.store.checkpoints.list(run.id)).map((c) => c.step)).toEqual([2]);
    await expectConsistentLibrary();
  });

  it('export: the manifest hits ENOSPC: a clear error, and no export folder is left (nothing half-written; the folder it created goes too)', async () => {
    const full = await open({ launcher: fullDiskLauncher('manifest.json.', 0) });
    const ids = (await s.generate({ runId, count: 2, seed: 400, steps: 2 })).samples.map((x) => x.id);
    const to = join(lib.dir, '..', `${relative(join(lib.dir, '..'), lib.dir)}-export`);
    try {
      const err = await full.exportSamples({ ids, to }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('unavailable');
      expect((err as ApiError).message).toMatch(/ENOSPC.*the disk is full or read-only; nothing was half-written\. Free space on that disk and try again\./);
      expect(await fs.stat(to).then(() => 'exists', (e: NodeJS.ErrnoException) => e.code)).toBe('ENOENT');
    } finally {
      await fs.rm(to, { recursive: true, force: true });
    }
    await expectConsistentLibrary();
  });

  it('SQLITE_FULL: an error that names the library folder and says to free space; the database stays intact', async () => {
    const t = tempDir('sfumato-dbfull-');
    try {
      const db = await Db.open(join(t.dir, 'sfumato.db'));
      await db.exec('CREATE TABLE blobs (b BLOB)');
      const pages = (await db.get<{ page_count: number }>('PRAGMA page_count'))!.page_count;
      await db.exec(`PRAGMA max_page_count = ${pages}`);
      const err = await db.run('INSERT INTO blobs VALUES (?)', [Buffer.alloc(256 * 1024)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('unavailable');
      expect((err as ApiError).message).toMatch(/\(SQLITE_FULL\); the database is unchanged\. Free space on the disk that holds the library folder /);
      expect((err as ApiError).message).toContain(t.dir);
      expect(await db.integrityCheck()).toBe('ok');
      expect((await db.get<{ n: number }>('SELECT count(*) AS n FROM blobs'))!.n).toBe(0);
      await db.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('Db retry', () => {
  it('waits out a lock shorter than its budget, and gives up with a clear error after it', async () => {
    const t = tempDir('sfumato-dbbusy-');
    try {
      const file = join(t.dir, 'sfumato.db');
      const patient = await Db.open(file, { retryMs: 20_000 });
      const hasty = await Db.open(file, { retryMs: 200 });
      await patient.exec('CREATE TABLE t (x INTEGER)');
      const lock = await holdWriteLock(file);
      const t0 = Date.now();
      const failed = await hasty.run('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      expect((failed as ApiError).code).toBe('unavailable');
      expect((failed as ApiError).message).toContain(`library folder ${t.dir} `);
      setTimeout(() => void lock.release(), 1_500);
      await patient.run('INSERT INTO t VALUES (2)');
      await lock.release();
      expect(await patient.all('SELECT x FROM t')).toEqual([{ x: 2 }]);
      await patient.close();
      await hasty.close();
    } finally {
      t.cleanup();
    }
  });
});
