import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Db } from '../../../src-main/db/db';
import { MIGRATIONS } from '../../../src-main/db/migrations';
import { repositories } from '../../../src-main/db/repositories';
import { DEFAULT_TRAIN_CONFIG } from '../../../src-main/training/config';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sfumato-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('store', () => {
  it('applies every migration on a fresh file, in WAL mode with foreign keys', async () => {
    const db = await Db.open(join(tmp(), 'sfumato.db'));
    expect(await db.userVersion()).toBe(MIGRATIONS.length);
    expect((await db.get<{ journal_mode: string }>('PRAGMA journal_mode'))?.journal_mode).toBe('wal');
    expect((await db.get<{ foreign_keys: number }>('PRAGMA foreign_keys'))?.foreign_keys).toBe(1);
    const tables = (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name);
    for (const t of ['datasets', 'dataset_items', 'runs', 'checkpoints', 'samples']) expect(tables).toContain(t);
    expect(await db.integrityCheck()).toBe('ok');
    await db.close();
  });

  it('reopening keeps data and does not re-run migrations', async () => {
    const file = join(tmp(), 'sfumato.db');
    const db = await Db.open(file);
    const store = repositories(db);
    await store.datasets.insert({ id: 'ds_a', name: 'a', sourceDir: '/x', imageSize: 16, background: '#ffffff', cacheFile: 'c', items: [], errors: [] });
    await db.close();
    const db2 = await Db.open(file);
    expect(await db2.userVersion()).toBe(MIGRATIONS.length);
    expect((await repositories(db2).datasets.list()).map((d) => d.id)).toEqual(['ds_a']);
    await db2.close();
  });

  it('refuses a database written by a newer Sfumato, with a message saying what to do', async () => {
    const file = join(tmp(), 'sfumato.db');
    const db = await Db.open(file);
    await db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    await db.close();
    await expect(Db.open(file)).rejects.toThrow(/newer Sfumato.*Update Sfumato/);
  });

  it('repositories return plain records; foreign keys cascade', async () => {
    const db = await Db.open(join(tmp(), 'sfumato.db'));
    const store = repositories(db);
    await store.datasets.insert({
      id: 'ds_b',
      name: 'b',
      sourceDir: '/y',
      imageSize: 16,
      background: '#ffffff',
      cacheFile: 'datasets/ds_b/cache-16.bin',
      items: [{ id: 'item_1', file: 'a.png', format: 'png', width: 64, height: 64, sha256: 'ab', thumb: 't.png' }],
      errors: [{ file: 'x.txt', code: 'unsupported', message: 'not an image' }],
    });
    const run = await store.runs.insert({ id: 'run_1', datasetId: 'ds_b', config: DEFAULT_TRAIN_CONFIG, seed: 7 });
    expect(run).toMatchObject({ id: 'run_1', status: 'queued', seed: 7, step: 0, lastLoss: null });
    await store.runs.recordProgress('run_1', 2, [
      { step: 1, loss: 0.9 },
      { step: 2, loss: 0.8 },
    ]);
    expect((await store.runs.get('run_1'))?.lastLoss).toBeCloseTo(0.8);
    await store.checkpoints.insert({ id: 'ckpt_1', runId: 'run_1', step: 2, file: 'f', sha256: 'ff', loss: 0.8, weightsDigest: null });
    expect((await store.checkpoints.latest('run_1'))?.id).toBe('ckpt_1');
    expect(await store.datasets.errors('ds_b')).toEqual([{ file: 'x.txt', code: 'unsupported', message: 'not an image' }]);
    expect(await store.datasets.remove('ds_b')).toBe(true);
    expect(await store.datasets.items('ds_b')).toEqual([]);
    expect((await store.runs.get('run_1'))?.datasetId).toBe('');
    await expect(store.runs.setStatus('run_1', 'bogus' as never)).rejects.toThrow(/CHECK constraint/);
    await db.close();
  });
});
