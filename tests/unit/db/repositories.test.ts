/**
 * The gallery and checkpoint queries of src-main/db/repositories.ts on a real SQLite file:
 * SampleRepo.query (every filter, paging, sort, trash), CheckpointRepo.prunable and
 * SampleRepo.emptyTrash (files first, rows after; rows whose file stays are kept).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Db } from '../../../src-main/db/db';
import { BULK_CHUNK, repositories, type Store } from '../../../src-main/db/repositories';
import { DEFAULT_TRAIN_CONFIG } from '../../../src-main/training/config';
import type { SampleRecord } from '../../../src-main/api/types';

let dir: string;
let db: Db;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sfumato-repos-'));
  db = await Db.open(join(dir, 'sfumato.db'));
  store = repositories(db);
  await store.runs.insert({ id: 'run_a', datasetId: null, config: DEFAULT_TRAIN_CONFIG, seed: 1 });
  await store.runs.insert({ id: 'run_b', datasetId: null, config: DEFAULT_TRAIN_CONFIG, seed: 2 });
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const SHA_A = 'abcdef' + '0'.repeat(58);
const SHA_B = 'fedcba' + '1'.repeat(58);

function record(id: string, over: Partial<SampleRecord> = {}): Omit<SampleRecord, 'createdAt'> & { createdAt?: string } {
  return {
    id,
    file: `samples/${id}.png`,
    seed: 1,
    sampler: 'ddim',
    steps: 20,
    samplerOptions: { eta: 0 },
    schedule: DEFAULT_TRAIN_CONFIG.schedule,
    checkpoint: { id: 'ckpt_a', sha256: SHA_A },
    runId: 'run_a',
    width: 32,
    height: 32,
    backend: 'cpu',
    appVersion: '0.1.0',
    prediction: 'eps',
    nfe: 20,
    origin: { kind: 'seed' },
    parentId: null,
    ...over,
  };
}

/** A small gallery: five live samples on three days, one in the trash. */
async function seedGallery(): Promise<void> {
  await store.checkpoints.insert({ id: 'ckpt_a', runId: 'run_a', step: 100, file: 'a.sfwt', sha256: SHA_A, loss: 0.5, weightsDigest: null });
  await store.checkpoints.insert({ id: 'ckpt_b', runId: 'run_b', step: 100, file: 'b.sfwt', sha256: SHA_B, loss: 0.5, weightsDigest: null });
  await store.samples.insert(record('s1', { seed: 30, createdAt: '2026-03-01T10:00:00.000Z' }));
  await store.samples.insert(record('s2', { seed: 10, sampler: 'euler', steps: 12, createdAt: '2026-03-02T09:00:00.000Z' }));
  await store.samples.insert(record('s3', { seed: 20, runId: 'run_b', checkpoint: { id: 'ckpt_b', sha256: SHA_B }, createdAt: '2026-03-02T23:30:00.000Z' }));
  await store.samples.insert(record('s4', { seed: 10, origin: { kind: 'variation', subseed: 4242, strength: 0.3 }, createdAt: '2026-03-03T08:00:00.000Z' }));
  await store.samples.insert(record('s5', { seed: 50, samplerOptions: { eta: 0.5 }, createdAt: '2026-03-03T12:00:00.000Z' }));
  await store.samples.insert(record('s6', { seed: 60, createdAt: '2026-03-03T13:00:00.000Z' }));
  await store.samples.setFavorite(['s2', 's5'], true);
  await store.samples.tag(['s1', 's3'], ['keeper'], []);
  await store.samples.tag(['s4'], ['100%_done'], []);
  expect(await store.samples.trash(['s6'])).toBe(1);
}

const ids = (r: { samples: SampleRecord[] }) => r.samples.map((s) => s.id);

describe('SampleRepo.query', () => {
  beforeEach(seedGallery);

  it('lists live samples newest first, with the total and the favourites among them', async () => {
    const r = await store.samples.query({});
    expect(ids(r)).toEqual(['s5', 's4', 's3', 's2', 's1']);
    expect(r.total).toBe(5);
    expect(r.favorites.sort()).toEqual(['s2', 's5']);
    expect(r.samples[0]).toMatchObject({ id: 's5', samplerOptions: { eta: 0.5 }, checkpoint: { id: 'ckpt_a', sha256: SHA_A }, origin: { kind: 'seed' } });
  });

  it('sorts oldest first, or by seed with ties by id', async () => {
    expect(ids(await store.samples.query({ sort: 'oldest' }))).toEqual(['s1', 's2', 's3', 's4', 's5']);
    expect(ids(await store.samples.query({ sort: 'seed' }))).toEqual(['s2', 's4', 's3', 's1', 's5']);
  });

  it('pages with limit and offset; the total counts every match', async () => {
    const p0 = await store.samples.query({ sort: 'oldest', limit: 2, offset: 0 });
    const p1 = await store.samples.query({ sort: 'oldest', limit: 2, offset: 2 });
    const p2 = await store.samples.query({ sort: 'oldest', limit: 2, offset: 4 });
    expect([ids(p0), ids(p1), ids(p2)]).toEqual([['s1', 's2'], ['s3', 's4'], ['s5']]);
    expect([p0.total, p1.total, p2.total]).toEqual([5, 5, 5]);
    // favourites are those of the page returned
    expect([p0.favorites, p1.favorites, p2.favorites]).toEqual([['s2'], [], ['s5']]);
    expect(ids(await store.samples.query({ offset: 10 }))).toEqual([]);
  });

  it('filters by run, checkpoint hash prefix (any case), sampler and steps', async () => {
    expect(ids(await store.samples.query({ runId: 'run_b' }))).toEqual(['s3']);
    expect(ids(await store.samples.query({ checkpointSha256: 'FEDCBA' }))).toEqual(['s3']);
    expect((await store.samples.query({ checkpointSha256: 'abc' })).total).toBe(4);
    expect(ids(await store.samples.query({ sampler: 'euler' }))).toEqual(['s2']);
    expect(ids(await store.samples.query({ steps: 12 }))).toEqual(['s2']);
    expect(ids(await store.samples.query({ runId: 'run_a', sampler: 'ddim', sort: 'oldest' }))).toEqual(['s1', 's4', 's5']);
  });

  it('filters by favourite (either way) and by tag', async () => {
    expect(ids(await store.samples.query({ favorite: true, sort: 'oldest' }))).toEqual(['s2', 's5']);
    expect(ids(await store.samples.query({ favorite: false, sort: 'oldest' }))).toEqual(['s1', 's3', 's4']);
    expect(ids(await store.samples.query({ tag: 'keeper', sort: 'oldest' }))).toEqual(['s1', 's3']);
    expect(ids(await store.samples.query({ tag: 'kee' }))).toEqual([]); // tags match whole
  });

  it('filters by date, both ends inclusive; a bare end date covers that whole day', async () => {
    expect(ids(await store.samples.query({ from: '2026-03-02', to: '2026-03-02', sort: 'oldest' }))).toEqual(['s2', 's3']);
    expect(ids(await store.samples.query({ from: '2026-03-03', sort: 'oldest' }))).toEqual(['s4', 's5']);
    expect(ids(await store.samples.query({ to: '2026-03-02T09:00:00.000Z', sort: 'oldest' }))).toEqual(['s1', 's2']);
  });

  it('free text: every word must match somewhere in the recipe or the tags', async () => {
    expect(ids(await store.samples.query({ text: 'euler' }))).toEqual(['s2']);
    expect(ids(await store.samples.query({ text: '4242' }))).toEqual(['s4']); // the variation's subseed
    expect(ids(await store.samples.query({ text: 'keeper run_b' }))).toEqual(['s3']);
    expect(ids(await store.samples.query({ text: 'fedcba' }))).toEqual(['s3']);
    expect(ids(await store.samples.query({ text: 'keeper euler' }))).toEqual([]);
    expect(ids(await store.samples.query({ text: '  s5  ' }))).toEqual(['s5']);
  });

  it('free text treats % and _ literally', async () => {
    expect(ids(await store.samples.query({ text: '100%_done' }))).toEqual(['s4']);
    expect(ids(await store.samples.query({ text: '%' }))).toEqual(['s4']);
    expect(ids(await store.samples.query({ text: 's_' }))).toEqual([]);
  });

  it('the trash holds trashed samples only; restoring brings one back', async () => {
    const t = await store.samples.query({ trash: true });
    expect(ids(t)).toEqual(['s6']);
    expect(t.total).toBe(1);
    expect((await store.samples.meta('s6'))?.deletedAt).toEqual(expect.any(String));
    expect(await store.samples.trash(['s6', 's5'])).toBe(1); // s6 was already there
    expect(await store.samples.restore(['s6', 's1'])).toBe(1); // s1 was never trashed
    expect(ids(await store.samples.query({ trash: true }))).toEqual(['s5']);
    expect((await store.samples.query({})).total).toBe(5);
  });
});

describe('CheckpointRepo.prunable', () => {
  beforeEach(async () => {
    for (const step of [100, 200, 300, 400, 500]) {
      await store.checkpoints.insert({ id: `a${step}`, runId: 'run_a', step, file: `a${step}.sfwt`, sha256: `sha${step}`, loss: null, weightsDigest: null });
    }
    await store.checkpoints.insert({ id: 'b100', runId: 'run_b', step: 100, file: 'b100.sfwt', sha256: 'shab', loss: null, weightsDigest: null });
  });

  it('offers the checkpoints beyond the newest `keep`, oldest first, of that run only', async () => {
    expect((await store.checkpoints.prunable('run_a', 2)).map((c) => c.id)).toEqual(['a100', 'a200', 'a300']);
    expect((await store.checkpoints.prunable('run_a', 5)).map((c) => c.id)).toEqual([]);
    expect((await store.checkpoints.prunable('run_b', 1)).map((c) => c.id)).toEqual([]);
  });

  it('keep = 0 keeps every checkpoint', async () => {
    expect(await store.checkpoints.prunable('run_a', 0)).toEqual([]);
  });

  it('never offers a checkpoint a gallery sample was made from (also one in the trash)', async () => {
    await store.samples.insert(record('s1', { checkpoint: { id: 'a200', sha256: 'sha200' } }));
    await store.samples.insert(record('s2', { checkpoint: { id: 'a100', sha256: 'sha100' } }));
    await store.samples.trash(['s2']);
    expect((await store.checkpoints.prunable('run_a', 2)).map((c) => c.id)).toEqual(['a300']);
    // pruned after its sample is deleted for good
    await store.samples.emptyTrash(undefined, async (rows) => rows.map((r) => r.id));
    expect((await store.checkpoints.prunable('run_a', 2)).map((c) => c.id)).toEqual(['a100', 'a300']);
  });
});

describe('SampleRepo.emptyTrash', () => {
  beforeEach(seedGallery);

  it('deletes the given trashed samples whose files are gone; live ones are never offered', async () => {
    await store.samples.trash(['s1', 's2']);
    const offered: string[] = [];
    const deleted = await store.samples.emptyTrash(['s1', 's2', 's3', 's1'], async (rows) => {
      offered.push(...rows.map((r) => r.id));
      expect(rows.find((r) => r.id === 's1')?.file).toBe('samples/s1.png');
      return rows.map((r) => r.id);
    });
    expect(offered.sort()).toEqual(['s1', 's2']);
    expect(deleted.sort()).toEqual(['s1', 's2']);
    expect(await store.samples.get('s1')).toBeUndefined();
    expect(await store.samples.get('s3')).toBeDefined();
    expect(ids(await store.samples.query({ trash: true }))).toEqual(['s6']);
  });

  it('a sample whose file could not be removed keeps its row in the trash', async () => {
    await store.samples.trash(['s1']);
    const deleted = await store.samples.emptyTrash(undefined, async (rows) => rows.filter((r) => r.id !== 's1').map((r) => r.id));
    expect(deleted).toEqual(['s6']);
    expect(ids(await store.samples.query({ trash: true }))).toEqual(['s1']);
    // tags and collection entries go with the row
    expect(await db.all('SELECT * FROM sample_tags WHERE sample_id = ?', ['s6'])).toEqual([]);
  });

  it('a sample restored while its file was being removed keeps its row', async () => {
    await store.samples.trash(['s1']);
    const deleted = await store.samples.emptyTrash(undefined, async (rows) => {
      await store.samples.restore(['s1']);
      return rows.map((r) => r.id);
    });
    expect(deleted.sort()).toEqual(['s1', 's6']); // the caller removed both files
    expect(await store.samples.get('s1')).toBeDefined();
    expect(ids(await store.samples.query({ trash: true }))).toEqual([]);
  });

  it(`empties a trash larger than one chunk (${BULK_CHUNK}), offering each sample once, even those whose files stay`, async () => {
    const n = 2 * BULK_CHUNK + 17;
    await db.transaction(async () => {
      for (let i = 0; i < n; i++) {
        await db.run(
          `INSERT INTO samples (id, file, seed, sampler, steps, sampler_options_json, schedule_json, checkpoint_id, checkpoint_sha256, run_id, width, height, backend, app_version, created_at, deleted_at)
           VALUES (?, ?, 1, 'ddim', 20, '{}', '{}', NULL, 'x', NULL, 32, 32, 'cpu', '0', '2026-01-01', '2026-01-02')`,
          [`t${String(i).padStart(5, '0')}`, `samples/t${i}.png`],
        );
      }
    });
    const offered = new Map<string, number>();
    let calls = 0;
    const kept = (id: string) => Number(id.slice(1)) % 7 === 0;
    const deleted = await store.samples.emptyTrash(undefined, async (rows) => {
      calls++;
      expect(rows.length).toBeLessThanOrEqual(BULK_CHUNK);
      for (const r of rows) offered.set(r.id, (offered.get(r.id) ?? 0) + 1);
      return rows.map((r) => r.id).filter((id) => !kept(id));
    });
    const total = n + 1; // and s6 from the seeded gallery
    expect(offered.size).toBe(total);
    expect([...offered.values()].every((c) => c === 1)).toBe(true);
    expect(calls).toBe(Math.ceil(total / BULK_CHUNK));
    const keptCount = [...offered.keys()].filter((id) => id.startsWith('t') && kept(id)).length;
    expect(deleted).toHaveLength(total - keptCount);
    expect((await store.samples.query({ trash: true })).total).toBe(keptCount);
  });
});

describe('dataset class labels (migration 11)', () => {
  const item = (id: string, file: string, cls: string | null) => ({ id, file, format: 'png', width: 8, height: 8, sha256: id.padEnd(64, '0'), thumb: `t/${id}.png`, class: cls });

  it('stores each item class, lists the classes with counts, renames and merges them; run labels survive', async () => {
    const d = await store.datasets.insert({
      id: 'ds_c',
      name: 'c',
      sourceDir: '/x',
      imageSize: 8,
      background: '#ffffff',
      cacheFile: 'c.bin',
      labels: 'subfolders',
      errors: [],
      items: [item('item_1', 'cats/a.png', 'cats'), item('item_2', 'dogs/b.png', 'dogs'), item('item_3', 'top.png', null), item('item_4', 'kitten/c.png', 'kitten')],
    });
    expect(d.labels).toBe('subfolders');
    expect(d.classes).toEqual([
      { name: 'cats', count: 1 },
      { name: 'dogs', count: 1 },
      { name: 'kitten', count: 1 },
    ]);
    const ti = await store.datasets.trainingImages('ds_c');
    expect(ti.classes).toEqual(['cats', 'dogs', null, 'kitten']);
    await store.datasets.recordRunImages('run_a', { indices: ti.indices, datasetHash: ti.datasetHash, labels: [0, 1, 3, 2] });
    expect(await store.datasets.renameClass('ds_c', 'kitten', 'cats')).toBe(1);
    expect((await store.datasets.get('ds_c'))!.classes).toEqual([
      { name: 'cats', count: 2 },
      { name: 'dogs', count: 1 },
    ]);
    expect((await store.datasets.items('ds_c')).map((i) => i.class)).toEqual(['cats', 'dogs', null, 'cats']);
    expect((await store.datasets.runImages('run_a'))?.labels).toEqual([0, 1, 3, 2]);
    await store.datasets.recordRunImages('run_b', { indices: [0], datasetHash: 'h' });
    expect(await store.datasets.runImages('run_b')).toEqual({ indices: [0], datasetHash: 'h' });
  });
});
