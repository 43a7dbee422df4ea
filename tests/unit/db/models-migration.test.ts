/**
 * Migration 5 (models as models), on rows written in the schema-4 layout: fake runs of bundled and
 * imported models move to the models table with their checkpoint rows; real runs (including a
 * fine-tune of a bundled model whose dataset was removed) stay runs; samples keep their checkpoint.
 */
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

/** A database at schema 4 (migrations 1-4 only), filled by `sql`, as the old code left it. */
async function schema4(sql: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sfumato-m5-'));
  dirs.push(dir);
  const file = join(dir, 'sfumato.db');
  const raw = new sqlite3.Database(file);
  const exec = (s: string) => new Promise<void>((ok, fail) => raw.exec(s, (e) => (e ? fail(e) : ok())));
  await exec('PRAGMA foreign_keys = ON');
  for (const m of MIGRATIONS.slice(0, 4)) await exec(m);
  await exec(`PRAGMA user_version = 4; ${sql}`);
  await new Promise<void>((ok) => raw.close(() => ok()));
  return file;
}

const cfg = JSON.stringify(DEFAULT_TRAIN_CONFIG);
const T = '2026-01-01T00:00:00.000Z';
const sha = (c: string) => c.repeat(64);

const OLD_LIBRARY = `
  INSERT INTO datasets VALUES ('ds_1', 'd', '/x', 32, '#ffffff', 'c', 0, 0, '[]', '${T}');
  -- a real run from scratch
  INSERT INTO runs (id, dataset_id, status, config_json, seed, step, created_at, updated_at) VALUES ('run_real', 'ds_1', 'completed', '${cfg}', 1, 10, '${T}', '${T}');
  INSERT INTO run_losses VALUES ('run_real', 10, 0.5);
  INSERT INTO checkpoints (id, run_id, step, file, sha256, created_at) VALUES ('ckpt_real', 'run_real', 10, 'runs/run_real/c.sfwt', '${sha('a')}', '${T}');
  -- the bundled model as the old code stored it: a completed run with no dataset and no losses
  INSERT INTO runs (id, dataset_id, status, config_json, seed, step, init_json, created_at, updated_at)
    VALUES ('run_fakeb', NULL, 'completed', '${cfg}', 0, 14000, '{"modelId":"emoji-32","sha256":"${sha('b')}"}', '${T}', '${T}');
  INSERT INTO checkpoints (id, run_id, step, file, sha256, created_at) VALUES ('ckpt_bundled', 'run_fakeb', 14000, 'models/emoji-32.sfwt', '${sha('b')}', '${T}');
  -- an imported ONNX model as the old code stored it
  INSERT INTO runs (id, dataset_id, status, config_json, seed, step, init_json, created_at, updated_at)
    VALUES ('run_fakeo', NULL, 'completed', '${cfg}', 0, 0, '{"modelId":"model_x","sha256":"${sha('c')}","name":"mine","kind":"onnx","signature":{"channels":3}}', '${T}', '${T}');
  INSERT INTO checkpoints (id, run_id, step, file, sha256, created_at) VALUES ('ckpt_onnx', 'run_fakeo', 0, 'models/model_x.onnx', '${sha('c')}', '${T}');
  -- a real fine-tune of the bundled model whose dataset was removed: no dataset either, but losses
  INSERT INTO runs (id, dataset_id, status, config_json, seed, step, init_json, created_at, updated_at)
    VALUES ('run_tune', NULL, 'completed', '${cfg}', 5, 20, '{"modelId":"emoji-32","sha256":"${sha('b')}"}', '${T}', '${T}');
  INSERT INTO run_losses VALUES ('run_tune', 20, 0.1);
  INSERT INTO checkpoints (id, run_id, step, file, sha256, created_at) VALUES ('ckpt_tune', 'run_tune', 20, 'runs/run_tune/c.sfwt', '${sha('d')}', '${T}');
  -- one gallery sample of each
  ${['real', 'bundled', 'onnx', 'tune']
    .map(
      (k, i) => `INSERT INTO samples (id, file, seed, sampler, steps, sampler_options_json, schedule_json, checkpoint_id, checkpoint_sha256, run_id, width, height, backend, app_version, created_at)
    VALUES ('smp_${k}', 'samples/${k}.png', ${i}, 'ddim', 3, '{}', '{}', 'ckpt_${k}', '${sha('abcd'[i])}', '${{ real: 'run_real', bundled: 'run_fakeb', onnx: 'run_fakeo', tune: 'run_tune' }[k]}', 32, 32, 'tfjs-cpu', '0.1.0', '${T}');`,
    )
    .join('\n')}
`;

describe('migration 5: models as models', () => {
  it('moves the fake runs of bundled and imported models into models, keeping their checkpoint rows and every sample\'s checkpoint', async () => {
    const db = await Db.open(await schema4(OLD_LIBRARY));
    expect(await db.userVersion()).toBe(MIGRATIONS.length);
    const store = repositories(db);
    expect((await store.runs.list()).map((r) => r.id).sort()).toEqual(['run_real', 'run_tune']);
    const bundled = (await store.models.get('emoji-32'))!;
    expect(bundled).toMatchObject({ kind: 'bundled', sha256: sha('b'), config: DEFAULT_TRAIN_CONFIG });
    expect(bundled.checkpoint).toMatchObject({ id: 'ckpt_bundled', file: 'models/emoji-32.sfwt', runId: null, modelId: 'emoji-32' });
    const onnx = (await store.models.get('model_x'))!;
    expect(onnx).toMatchObject({ kind: 'onnx', name: 'mine', signature: { channels: 3 } });
    expect(onnx.checkpoint).toMatchObject({ id: 'ckpt_onnx', file: 'models/model_x.onnx', modelId: 'model_x' });
    // training checkpoints stay with their runs; lists of checkpoints hold runs' only
    expect((await store.checkpoints.list()).map((c) => c.id).sort()).toEqual(['ckpt_real', 'ckpt_tune']);
    expect(await store.checkpoints.get('ckpt_tune')).toMatchObject({ runId: 'run_tune', modelId: null });
    // every sample still names its checkpoint (the table rebuild must not null them)
    for (const k of ['real', 'bundled', 'onnx', 'tune']) expect((await store.samples.get(`smp_${k}`))!.checkpoint.id).toBe(`ckpt_${k}`);
    // samples of models no longer point at a run
    expect((await store.samples.get('smp_bundled'))!.runId).toBeNull();
    expect((await store.samples.get('smp_real'))!.runId).toBe('run_real');
    expect(await db.all('PRAGMA foreign_key_check')).toEqual([]);
    expect(await db.integrityCheck()).toBe('ok');
    await db.close();
  });

  it('a checkpoint belongs to exactly one run or model', async () => {
    const db = await Db.open(await schema4(''));
    await expect(db.run(`INSERT INTO checkpoints (id, run_id, model_id, step, file, sha256, created_at) VALUES ('ckpt_none', NULL, NULL, 0, 'f', '${sha('e')}', '${T}')`)).rejects.toThrow(/CHECK/);
    await db.close();
  });
});
