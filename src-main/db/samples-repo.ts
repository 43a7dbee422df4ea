/** Repository: Gallery samples: query, tags, collections, trash (moved whole from db/repositories.ts; SQL in, plain contract types out). */
import type { GalleryQuery } from '../api/requests';
import type { SampleMeta, SampleRecord } from '../api/types';
import type { Db } from './db';
import { now } from './datasets-repo';

interface SampleRow {
  id: string;
  file: string;
  seed: number;
  sampler: string;
  steps: number;
  sampler_options_json: string;
  schedule_json: string;
  checkpoint_id: string | null;
  checkpoint_sha256: string;
  run_id: string | null;
  width: number;
  height: number;
  backend: string;
  app_version: string;
  prediction: string;
  nfe: number;
  origin_json: string;
  parent_id: string | null;
  favorite: number;
  deleted_at: string | null;
  created_at: string;
  kind: string | null;
  grid_json: string | null;
  guidance_json: string | null;
  lora_json: string | null;
}

const toSample = (r: SampleRow): SampleRecord => ({
  id: r.id,
  file: r.file,
  seed: r.seed,
  sampler: r.sampler as SampleRecord['sampler'],
  steps: r.steps,
  samplerOptions: JSON.parse(r.sampler_options_json) as SampleRecord['samplerOptions'],
  schedule: JSON.parse(r.schedule_json) as SampleRecord['schedule'],
  checkpoint: { id: r.checkpoint_id ?? '', sha256: r.checkpoint_sha256 },
  runId: r.run_id,
  width: r.width,
  height: r.height,
  backend: r.backend,
  appVersion: r.app_version,
  prediction: r.prediction as SampleRecord['prediction'],
  nfe: r.nfe,
  origin: JSON.parse(r.origin_json) as SampleRecord['origin'],
  parentId: r.parent_id,
  createdAt: r.created_at,
  ...(r.kind === 'grid' ? { kind: 'grid' as const } : {}),
  ...(r.grid_json ? { grid: JSON.parse(r.grid_json) as SampleRecord['grid'] } : {}),
  ...(r.guidance_json ? { guidance: JSON.parse(r.guidance_json) as SampleRecord['guidance'] } : {}),
  ...(r.lora_json ? { lora: JSON.parse(r.lora_json) as SampleRecord['lora'] } : {}),
});

export class SampleRepo {
  constructor(private readonly db: Db) {}

  async insert(s: Omit<SampleRecord, 'createdAt'> & { createdAt?: string }): Promise<SampleRecord> {
    await this.db.run(
      `INSERT INTO samples (id, file, seed, sampler, steps, sampler_options_json, schedule_json, checkpoint_id, checkpoint_sha256,
         run_id, width, height, backend, app_version, prediction, nfe, origin_json, parent_id, created_at, kind, grid_id, grid_json, guidance_json, lora_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        s.id,
        s.file,
        s.seed,
        s.sampler,
        s.steps,
        JSON.stringify(s.samplerOptions),
        JSON.stringify(s.schedule),
        s.checkpoint.id,
        s.checkpoint.sha256,
        s.runId,
        s.width,
        s.height,
        s.backend,
        s.appVersion,
        s.prediction,
        s.nfe,
        JSON.stringify(s.origin),
        s.parentId,
        s.createdAt ?? now(),
        s.kind ?? 'sample',
        s.grid?.id ?? null,
        s.grid ? JSON.stringify(s.grid) : null,
        s.guidance ? JSON.stringify(s.guidance) : null,
        s.lora ? JSON.stringify(s.lora) : null,
      ],
    );
    return (await this.get(s.id))!;
  }

  async get(id: string): Promise<SampleRecord | undefined> {
    const r = await this.db.get<SampleRow>('SELECT * FROM samples WHERE id = ?', [id]);
    return r && toSample(r);
  }

  async query(q: GalleryQuery): Promise<{ samples: SampleRecord[]; total: number; favorites: string[] }> {
    const where: string[] = [q.trash ? 's.deleted_at IS NOT NULL' : 's.deleted_at IS NULL'];
    const params: (string | number)[] = [];
    if (q.runId) {
      where.push('s.run_id = ?');
      params.push(q.runId);
    }
    if (q.checkpointSha256) {
      where.push('s.checkpoint_sha256 LIKE ?');
      params.push(q.checkpointSha256.toLowerCase() + '%');
    }
    if (q.sampler) {
      where.push('s.sampler = ?');
      params.push(q.sampler);
    }
    if (q.steps !== undefined) {
      where.push('s.steps = ?');
      params.push(q.steps);
    }
    if (q.favorite !== undefined) {
      where.push('s.favorite = ?');
      params.push(q.favorite ? 1 : 0);
    }
    if (q.tag) {
      where.push('EXISTS (SELECT 1 FROM sample_tags t WHERE t.sample_id = s.id AND t.tag = ?)');
      params.push(q.tag);
    }
    if (q.from) {
      where.push('s.created_at >= ?');
      params.push(q.from);
    }
    if (q.to) {
      where.push('s.created_at <= ?');
      params.push(q.to.length <= 10 ? q.to + 'T23:59:59.999Z' : q.to);
    }
    if (q.text) {
      // Each word must appear somewhere in the recipe or the tags (LIKE with escaped wildcards).
      for (const word of q.text.trim().split(/\s+/).slice(0, 8)) {
        const like = '%' + word.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
        where.push(
          `(s.id LIKE ? ESCAPE '\\' OR CAST(s.seed AS TEXT) LIKE ? ESCAPE '\\' OR s.sampler LIKE ? ESCAPE '\\' OR s.sampler_options_json LIKE ? ESCAPE '\\'
            OR s.schedule_json LIKE ? ESCAPE '\\' OR s.origin_json LIKE ? ESCAPE '\\' OR s.run_id LIKE ? ESCAPE '\\' OR s.checkpoint_sha256 LIKE ? ESCAPE '\\'
            OR EXISTS (SELECT 1 FROM sample_tags t WHERE t.sample_id = s.id AND t.tag LIKE ? ESCAPE '\\'))`,
        );
        for (let i = 0; i < 9; i++) params.push(like);
      }
    }
    const order = q.sort === 'oldest' ? 's.created_at ASC, s.id' : q.sort === 'seed' ? 's.seed ASC, s.id' : 's.created_at DESC, s.id';
    const w = 'WHERE ' + where.join(' AND ');
    const total = (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM samples s ${w}`, params))?.n ?? 0;
    const rows = await this.db.all<SampleRow>(`SELECT s.* FROM samples s ${w} ORDER BY ${order} LIMIT ? OFFSET ?`, [...params, q.limit ?? 200, q.offset ?? 0]);
    return { samples: rows.map(toSample), total, favorites: rows.filter((r) => r.favorite === 1).map((r) => r.id) };
  }

  async meta(id: string): Promise<SampleMeta | undefined> {
    const r = await this.db.get<{ favorite: number; deleted_at: string | null }>('SELECT favorite, deleted_at FROM samples WHERE id = ?', [id]);
    if (!r) return undefined;
    const tags = (await this.db.all<{ tag: string }>('SELECT tag FROM sample_tags WHERE sample_id = ? ORDER BY tag', [id])).map((t) => t.tag);
    const collections = (
      await this.db.all<{ name: string }>('SELECT c.name FROM collections c JOIN collection_items i ON i.collection_id = c.id WHERE i.sample_id = ? ORDER BY c.name', [id])
    ).map((c) => c.name);
    return { favorite: r.favorite === 1, tags, collections, deletedAt: r.deleted_at };
  }

  async setFavorite(ids: string[], favorite: boolean): Promise<number> {
    const n = await inChunks(this.db, ids, async (chunk, marks) => (await this.db.run(`UPDATE samples SET favorite = ? WHERE id IN (${marks})`, [favorite ? 1 : 0, ...chunk])).changes);
    return sum(n);
  }

  async tag(ids: string[], add: string[], remove: string[]): Promise<void> {
    await inChunks(this.db, ids, async (chunk, marks) => {
      for (const t of add) await this.db.run(`INSERT OR IGNORE INTO sample_tags (sample_id, tag) SELECT id, ? FROM samples WHERE id IN (${marks})`, [t, ...chunk]);
      for (const t of remove) await this.db.run(`DELETE FROM sample_tags WHERE tag = ? AND sample_id IN (${marks})`, [t, ...chunk]);
    });
  }

  async addToCollection(name: string, ids: string[], newCollectionId: string): Promise<void> {
    const c = await this.db.transaction(async () => {
      await this.db.run('INSERT OR IGNORE INTO collections (id, name, created_at) VALUES (?, ?, ?)', [newCollectionId, name, now()]);
      return (await this.db.get<{ id: string }>('SELECT id FROM collections WHERE name = ?', [name]))!;
    });
    await inChunks(this.db, ids, async (chunk, marks) => {
      await this.db.run(`INSERT OR IGNORE INTO collection_items (collection_id, sample_id) SELECT ?, id FROM samples WHERE id IN (${marks})`, [c.id, ...chunk]);
    });
  }

  /** Move to the trash (undoable). */
  async trash(ids: string[]): Promise<number> {
    const t = now();
    const n = await inChunks(this.db, ids, async (chunk, marks) => (await this.db.run(`UPDATE samples SET deleted_at = ? WHERE id IN (${marks}) AND +deleted_at IS NULL`, [t, ...chunk])).changes);
    return sum(n);
  }

  async restore(ids: string[]): Promise<number> {
    const n = await inChunks(this.db, ids, async (chunk, marks) => (await this.db.run(`UPDATE samples SET deleted_at = NULL WHERE id IN (${marks}) AND +deleted_at IS NOT NULL`, chunk)).changes);
    return sum(n);
  }

  /**
   * Delete trashed samples (the given ones, or the whole trash) for good, BULK_CHUNK at a time.
   * Files first, rows after: `removeFiles` gets each chunk's rows and returns the ids whose file
   * is gone (removed, or already missing); only those rows are deleted, in a short transaction.
   * A file that could not be removed keeps its row in the trash (never a file without a row, and
   * the caller reports it); a crash in between leaves trashed rows whose files are gone, which
   * the next empty-trash deletes. Returns the ids whose rows were deleted.
   */
  async emptyTrash(ids: string[] | undefined, removeFiles: (rows: { id: string; file: string }[]) => Promise<string[]>): Promise<string[]> {
    const deleted: string[] = [];
    const settle = async (rows: { id: string; file: string }[]): Promise<void> => {
      if (!rows.length) return;
      const gone = await removeFiles(rows);
      if (!gone.length) return;
      // Rows still in the trash only (one restored meanwhile keeps its row; its file is gone,
      // as it would be after any removal that raced a restore).
      await inChunks(this.db, gone, async (chunk, marks) => {
        await this.db.run(`DELETE FROM samples WHERE id IN (${marks}) AND +deleted_at IS NOT NULL`, chunk);
      });
      deleted.push(...gone);
    };
    if (ids) {
      const unique = [...new Set(ids)];
      for (let i = 0; i < unique.length; i += BULK_CHUNK) {
        const chunk = unique.slice(i, i + BULK_CHUNK);
        await settle(await this.db.all<{ id: string; file: string }>(`SELECT id, file FROM samples WHERE id IN (${placeholders(chunk.length)}) AND +deleted_at IS NOT NULL`, chunk));
      }
      return deleted;
    }
    // The whole trash, in id order (rows whose file stays are passed over, not met again).
    for (let after = ''; ; ) {
      const rows = await this.db.all<{ id: string; file: string }>('SELECT id, file FROM samples WHERE deleted_at IS NOT NULL AND id > ? ORDER BY id LIMIT ?', [after, BULK_CHUNK]);
      if (!rows.length) return deleted;
      after = rows[rows.length - 1]!.id;
      await settle(rows);
    }
  }
}

// ---------------------------------------------------------------- bulk writes

/**
 * Ids per transaction in bulk writes. A gallery bulk request (up to 10,000 ids) becomes several
 * short transactions instead of one that holds SQLite's write lock for seconds.
 */
export const BULK_CHUNK = 500;

/*
 * SampleRepo's chunk statements write `+deleted_at` (SQLite's unary plus): it keeps the planner on
 * the primary key for `id IN (…)`; left to itself it may walk the samples_deleted index instead,
 * visiting every live (or trashed) sample for each chunk.
 */
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * Wait between two chunk transactions about as long as the last one took (1–50 ms), so that other
 * writers get the write lock in between: transactions queued on this connection (training
 * progress) and other connections to the library (another Sfumato process, the CLI), whose
 * busy handler only succeeds if it polls while the lock is free.
 */
function pauseForOtherWriters(lastMs: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, lastMs))));
}

/**
 * Runs `fn` over the distinct `ids` in chunks of BULK_CHUNK, each in its own transaction
 * (`marks` is the chunk's "?, ?, …" list), then `afterCommit` with its result, pausing between
 * chunks. Not atomic across chunks: if one fails, the earlier ones stay done; every bulk
 * operation here (trash, restore, favourite, tag, collect, empty trash) is safe to repeat.
 */
async function inChunks<R>(db: Db, ids: string[], fn: (chunk: string[], marks: string) => Promise<R>, afterCommit?: (r: R) => Promise<void>): Promise<R[]> {
  const unique = [...new Set(ids)];
  const out: R[] = [];
  let lastMs = 0;
  for (let i = 0; i < unique.length; i += BULK_CHUNK) {
    if (i > 0) await pauseForOtherWriters(lastMs);
    const chunk = unique.slice(i, i + BULK_CHUNK);
    const t0 = performance.now();
    const r = await db.transaction(() => fn(chunk, placeholders(chunk.length)));
    lastMs = performance.now() - t0;
    out.push(r);
    if (afterCommit) await afterCommit(r);
  }
  return out;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
