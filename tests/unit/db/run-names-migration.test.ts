/** Migration 6 (run names, deleted runs) on runs written at schema 5, which had no names. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Db } from '../../../src-main/db/db';
import { MIGRATIONS } from '../../../src-main/db/migrations';
import { repositories } from '../../../src-main/db/repositories';
import { DEFAULT_TRAIN_CONFIG } from '../../../src-main/training/config';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const cfg = JSON.stringify(DEFAULT_TRAIN_CONFIG);

describe('migration 6: run names', () => {
  it('names the runs of an older library "<dataset> · <scratch|fine-tune> · <date>" and lists them all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfumato-m6-'));
    dirs.push(dir);
    const file = join(dir, 'sfumato.db');
    const raw = new sqlite3.Database(file);
    const exec = (s: string) => new Promise<void>((ok, fail) => raw.exec(s, (e) => (e ? fail(e) : ok())));
    await exec('PRAGMA foreign_keys = ON');
    for (const m of MIGRATIONS.slice(0, 5)) await exec(m);
    await exec(`PRAGMA user_version = 5;
      INSERT INTO datasets VALUES ('ds_1', 'roses', '/x', 32, '#ffffff', 'c', 0, 0, '[]', '2026-03-04T10:00:00.000Z');
      INSERT INTO runs (id, dataset_id, status, config_json, seed, step, created_at, updated_at)
        VALUES ('run_a', 'ds_1', 'completed', '${cfg}', 1, 10, '2026-03-05T10:00:00.000Z', '2026-03-05T10:00:00.000Z');
      INSERT INTO runs (id, dataset_id, status, config_json, seed, step, init_json, created_at, updated_at)
        VALUES ('run_b', NULL, 'completed', '${cfg}', 1, 10, '{"modelId":"emoji-32","sha256":"ab"}', '2026-03-06T10:00:00.000Z', '2026-03-06T10:00:00.000Z');`);
    await new Promise<void>((ok) => raw.close(() => ok()));

    const db = await Db.open(file);
    const store = repositories(db);
    expect(await db.userVersion()).toBe(MIGRATIONS.length);
    expect((await store.runs.list()).map((r) => [r.id, r.name])).toEqual([
      ['run_b', 'run · fine-tune · 2026-03-06'],
      ['run_a', 'roses · scratch · 2026-03-05'],
    ]);
    await db.close();
  });
});
