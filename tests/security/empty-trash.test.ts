/**
 * Issue 11 leftovers, item 3: emptying the trash removes files first and deletes only the rows
 * whose file is gone (removed, or missing already). A file that cannot be removed keeps its row in
 * the trash and is reported; it is never left on disk without a row. Real service, real SQLite
 * file, real files; the file that cannot be removed is a non-empty folder in place of the PNG
 * (works as root too, where file modes do not stop a removal).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;

/** Trashed sample rows smp_<p>_0…n-1, each with a file samples/<p>_i.png on disk. */
async function trashed(p: string, n: number): Promise<string[]> {
  await s.store.db.run(
    `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?)
     INSERT INTO samples (id, file, seed, sampler, steps, sampler_options_json, schedule_json, checkpoint_sha256, width, height, backend, app_version, created_at, deleted_at)
     SELECT 'smp_' || ? || '_' || i, 'samples/' || ? || '_' || i || '.png', i, 'ddim', 4, '{}', '{}', 'ab', 8, 8, 'cpu', 'test', '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z' FROM k`,
    [n, p, p],
  );
  for (let i = 0; i < n; i++) writeFileSync(join(lib.dir, 'samples', `${p}_${i}.png`), 'png');
  return Array.from({ length: n }, (_, i) => `smp_${p}_${i}`);
}

/** A non-empty folder where the sample's PNG was: a removal that fails. */
function stuck(p: string, i: number): void {
  const f = join(lib.dir, 'samples', `${p}_${i}.png`);
  rmSync(f);
  mkdirSync(join(f, 'inside'), { recursive: true });
}

const rowOf = (id: string) => s.store.db.get<{ id: string; deleted_at: string | null }>('SELECT id, deleted_at FROM samples WHERE id = ?', [id]);

beforeAll(async () => {
  lib = tempDir('sfumato-trash-');
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'web' });
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

describe('gallery:emptyTrash when a file cannot be removed', () => {
  it('the whole trash: the others go (a missing file included), the stuck one keeps its row and is reported', async () => {
    const ids = await trashed('a', 4);
    stuck('a', 1);
    rmSync(join(lib.dir, 'samples', 'a_2.png'));
    const r = await s.api['gallery:emptyTrash']({});
    expect(r.deleted).toBe(3);
    expect(r.notRemoved).toHaveLength(1);
    expect(r.notRemoved![0]).toMatchObject({ id: ids[1], file: 'samples/a_1.png' });
    expect(r.notRemoved![0]!.message).toMatch(new RegExp(`^Could not remove ${join(lib.dir, 'samples', 'a_1.png').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(.+\\); the sample stays in the trash\\. Check the file's permissions .* and empty the trash again\\.$`));
    // never a file without a row: the stuck file is still there, and so is its row, in the trash
    expect(existsSync(join(lib.dir, 'samples', 'a_1.png'))).toBe(true);
    expect((await rowOf(ids[1]!))?.deleted_at).toBeTruthy();
    for (const i of [0, 2, 3]) {
      expect(await rowOf(ids[i]!)).toBeUndefined();
      expect(existsSync(join(lib.dir, 'samples', `a_${i}.png`))).toBe(false);
    }
    // once the obstacle is gone, the next empty-trash finishes the job
    rmSync(join(lib.dir, 'samples', 'a_1.png'), { recursive: true });
    writeFileSync(join(lib.dir, 'samples', 'a_1.png'), 'png');
    expect(await s.api['gallery:emptyTrash']({})).toEqual({ deleted: 1 });
    expect(await rowOf(ids[1]!)).toBeUndefined();
  });

  it('given ids: the same, and samples not in the trash are not touched', async () => {
    const ids = await trashed('b', 3);
    stuck('b', 0);
    await s.store.db.run('UPDATE samples SET deleted_at = NULL WHERE id = ?', [ids[2]!]);
    const r = await s.api['gallery:emptyTrash']({ ids });
    expect(r.deleted).toBe(1);
    expect(r.notRemoved?.map((n) => n.id)).toEqual([ids[0]]);
    expect((await rowOf(ids[0]!))?.deleted_at).toBeTruthy();
    expect(await rowOf(ids[1]!)).toBeUndefined();
    expect((await rowOf(ids[2]!))?.deleted_at).toBeNull();
    expect(existsSync(join(lib.dir, 'samples', 'b_2.png'))).toBe(true);
  });
});
