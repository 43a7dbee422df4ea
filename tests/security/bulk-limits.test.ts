/**
 * Bulk gallery requests are capped (10,000 ids) and the repository writes them in short
 * transactions, so one request cannot hold SQLite's write lock for seconds (issue 11, item 5:
 * `gallery:delete` with 120,000 ids held it for 9–16 s). Real service, real SQLite file, and a
 * second real connection to the same file playing another Sfumato process (the CLI next to the app).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src-main/api/errors';
import { MAX_BULK_IDS } from '../../src-main/api/requests';
import { Sfumato } from '../../src-main/services/sfumato';
import { Db } from '../../src-main/db/db';
import { tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;

/** n sample rows smp_<prefix>_0 … in one statement (fast); returns their ids. */
async function addSamples(prefix: string, n: number): Promise<string[]> {
  await s.store.db.run(
    `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?)
     INSERT INTO samples (id, file, seed, sampler, steps, sampler_options_json, schedule_json, checkpoint_sha256, width, height, backend, app_version, created_at)
     SELECT 'smp_' || ? || '_' || i, 'gallery/' || ? || '_' || i || '.png', i, 'ddim', 4, '{}', '{}', 'ab', 8, 8, 'cpu', 'test', '2024-01-01T00:00:00.000Z' FROM k`,
    [n, prefix, prefix],
  );
  return Array.from({ length: n }, (_, i) => `smp_${prefix}_${i}`);
}

const count = async (where: string): Promise<number> => (await s.store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM samples WHERE ${where}`))!.n;

beforeAll(async () => {
  lib = tempDir('sfumato-bulk-');
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

describe('bulk request caps', () => {
  it('the cap is 10,000 ids per request', () => {
    expect(MAX_BULK_IDS).toBe(10_000);
  });

  it('refuses one id over the cap on every bulk channel, naming the field and the limit, and changes nothing', async () => {
    const ids = await addSamples('over', MAX_BULK_IDS + 1);
    const calls: [string, () => Promise<unknown>][] = [
      ['gallery:delete', () => s.api['gallery:delete']({ ids })],
      ['gallery:restore', () => s.api['gallery:restore']({ ids })],
      ['gallery:emptyTrash', () => s.api['gallery:emptyTrash']({ ids })],
      ['gallery:update', () => s.api['gallery:update']({ ids, favorite: true, addTags: ['x'], collection: 'c' })],
    ];
    for (const [channel, call] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, channel).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('bad_request');
      expect((err as ApiError).message).toMatch(new RegExp(`^${channel}: ids: .*10,000.*10,001.*smaller batches`));
    }
    expect(await count(`id LIKE 'smp_over_%' AND (deleted_at IS NOT NULL OR favorite = 1)`)).toBe(0);
    expect((await s.store.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sample_tags'))!.n).toBe(0);
    const exp = await s.api['gallery:export']({ ids: [...ids, ...ids, ...ids, ...ids, ...ids, ...ids, ...ids], to: lib.dir + '/x.zip' }).catch((e: Error) => e);
    expect((exp as Error).message).toMatch(/^gallery:export: ids: .*65,000.*smaller batches/);
    const tags = await s.api['gallery:update']({ ids: ids.slice(0, 1), addTags: Array.from({ length: 101 }, (_, i) => `t${i}`) }).catch((e: Error) => e);
    expect((tags as Error).message).toMatch(/^gallery:update: addTags: .*100/);
    await s.store.db.run(`DELETE FROM samples WHERE id LIKE 'smp_over_%'`);
  });

  it('an empty ids list is refused by emptyTrash rather than emptying the whole trash', async () => {
    const [id] = await addSamples('empty', 1);
    await s.api['gallery:delete']({ ids: [id] });
    await expect(s.api['gallery:emptyTrash']({ ids: [] })).rejects.toThrow(/gallery:emptyTrash: ids: .*leave ids out/);
    expect(await count(`id = '${id}'`)).toBe(1);
    expect((await s.api['gallery:emptyTrash']({})).deleted).toBe(1);
  });

  it('a request at the cap works on every bulk channel', async () => {
    const ids = await addSamples('at', MAX_BULK_IDS);
    expect(await s.api['gallery:update']({ ids, favorite: true, addTags: ['night', 'blue'], collection: 'big' })).toEqual({ updated: MAX_BULK_IDS });
    expect(await count(`id LIKE 'smp_at_%' AND favorite = 1`)).toBe(MAX_BULK_IDS);
    expect((await s.store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sample_tags WHERE sample_id LIKE 'smp_at_%'`))!.n).toBe(2 * MAX_BULK_IDS);
    expect((await s.store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM collection_items`))!.n).toBe(MAX_BULK_IDS);
    await s.api['gallery:update']({ ids, removeTags: ['blue'] });
    expect((await s.store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sample_tags WHERE tag = 'blue'`))!.n).toBe(0);
    expect(await s.api['gallery:delete']({ ids })).toEqual({ deleted: MAX_BULK_IDS });
    expect(await s.api['gallery:restore']({ ids: ids.slice(0, 600) })).toEqual({ restored: 600 });
    expect(await s.api['gallery:emptyTrash']({ ids })).toEqual({ deleted: MAX_BULK_IDS - 600 });
    expect(await count(`id LIKE 'smp_at_%'`)).toBe(600);
    expect(await s.api['gallery:delete']({ ids })).toEqual({ deleted: 600 });
    expect(await s.api['gallery:emptyTrash']({})).toEqual({ deleted: 600 });
    expect(await count('1')).toBe(0);
  });
});

describe('bulk writes in short transactions', () => {
  it("another connection's write gets in between the chunks of a 60,000-id bulk trash", async () => {
    const ids = await addSamples('lock', 60_000);
    const other = await Db.open(s.store.db.file); // a second connection, as another Sfumato process would open
    try {
      let finished = false;
      const bulk = s.store.samples.trash(ids).finally(() => (finished = true));
      // Let the bulk get going: wait until its first chunk is committed (visible to other connections).
      const until = performance.now() + 30_000;
      while (!finished && performance.now() < until && !(await other.get(`SELECT 1 FROM samples WHERE deleted_at IS NOT NULL LIMIT 1`))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const t0 = performance.now();
      // A write transaction on the other connection; what it sees is the state when it got the lock.
      const trashedThen = await other.transaction(async () => {
        await other.run(`INSERT INTO collections (id, name, created_at) VALUES ('col_other', 'from another process', '2024-01-01')`);
        return (await other.get<{ n: number }>(`SELECT COUNT(*) AS n FROM samples WHERE deleted_at IS NOT NULL`))!.n;
      });
      const waited = performance.now() - t0;
      expect(await bulk).toBe(60_000);
      // With one transaction for the whole bulk the other write could only come after all of it
      // (60,000 trashed) or fail with SQLITE_BUSY; between chunks it sees part of the work done.
      expect(trashedThen).toBeGreaterThan(0);
      expect(trashedThen, 'rows trashed when the other connection got the write lock').toBeLessThan(60_000);
      expect(waited).toBeLessThan(10_000);
    } finally {
      await other.close();
    }
  }, 60_000);
});
