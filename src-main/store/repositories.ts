/**
 * Repositories: SQL in, plain contract types out. Nothing outside src-main/store writes SQL.
 */
import type { GalleryQuery } from '../api/requests';
import type {
  Checkpoint,
  SampleMeta,
  Run,
  RunStatus,
  SampleRecord,
  TrainConfig,
} from '../api/types';
import type { Db, SqlValue } from './db';
import { DatasetRepo } from './datasets';
import { ModelRepo } from './models';
import { PresetRepo } from './presets';
import { toCheckpoint, toStoredCheckpoint, type CheckpointRow, type StoredCheckpoint } from './checkpoint-rows';
import { deleteRunRows, type RunDeletion } from './run-delete';

export type { StoredCheckpoint } from './checkpoint-rows';
export { DatasetRepo, type NewDataset } from './datasets';

const now = (): string => new Date().toISOString();

// ---------------------------------------------------------------- runs

interface RunRow {
  id: string;
  dataset_id: string | null;
  status: RunStatus;
  config_json: string;
  seed: number;
  step: number;
  last_loss: number | null;
  backend: string | null;
  error: string | null;
  pid: number | null;
  init_json: string | null;
  name: string | null;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

const toRun = (r: RunRow): Run => ({
  id: r.id,
  name: r.name ?? r.id,
  datasetId: r.dataset_id ?? '',
  status: r.status,
  config: JSON.parse(r.config_json) as TrainConfig,
  seed: r.seed,
  step: r.step,
  lastLoss: r.last_loss,
  backend: r.backend,
  error: r.error,
  initFrom: r.init_json ? (JSON.parse(r.init_json) as Run['initFrom']) : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class RunRepo {
  constructor(private readonly db: Db) {}

  async insert(run: { id: string; name?: string; datasetId: string | null; config: TrainConfig; seed: number; initFrom?: Run['initFrom']; createdAt?: string }): Promise<Run> {
    const t = run.createdAt ?? now();
    await this.db.run(
      `INSERT INTO runs (id, name, dataset_id, status, config_json, seed, step, init_json, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, 0, ?, ?, ?)`,
      [run.id, run.name ?? run.id, run.datasetId, JSON.stringify(run.config), run.seed, run.initFrom ? JSON.stringify(run.initFrom) : null, t, t],
    );
    return (await this.get(run.id))!;
  }

  /**
   * A run by id, deleted ones included (a deleted run whose checkpoints made gallery images stays
   * as a tombstone: those checkpoints are sampled with its config); `deleted` says which.
   */
  async get(id: string): Promise<(Run & { deleted?: true }) | undefined> {
    const r = await this.db.get<RunRow>('SELECT * FROM runs WHERE id = ?', [id]);
    return r && (r.deleted_at ? { ...toRun(r), deleted: true } : toRun(r));
  }

  /** Runs that are not deleted, newest first. */
  async list(datasetId?: string): Promise<Run[]> {
    const rows = datasetId
      ? await this.db.all<RunRow>('SELECT * FROM runs WHERE dataset_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id', [datasetId])
      : await this.db.all<RunRow>('SELECT * FROM runs WHERE deleted_at IS NULL ORDER BY created_at DESC, id');
    return rows.map(toRun);
  }

  async rename(id: string, name: string): Promise<void> {
    await this.db.run('UPDATE runs SET name = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [name, now(), id]);
  }

  /** Deletes a run's rows, keeping the checkpoints gallery samples name (see store/run-delete.ts). */
  async remove(id: string): Promise<RunDeletion> {
    return deleteRunRows(this.db, id);
  }

  /** Runs whose job was alive when the app last stopped (status running/queued; paused runs have no job). */
  async active(): Promise<(Run & { pid: number | null })[]> {
    const rows = await this.db.all<RunRow>(`SELECT * FROM runs WHERE status IN ('queued','running')`);
    return rows.map((r) => ({ ...toRun(r), pid: r.pid }));
  }

  async setStatus(id: string, status: RunStatus, extra: { error?: string | null; pid?: number | null; backend?: string } = {}): Promise<void> {
    const sets = ['status = ?', 'updated_at = ?'];
    const params: (string | number | null)[] = [status, now()];
    if (extra.error !== undefined) {
      sets.push('error = ?');
      params.push(extra.error);
    }
    if (extra.pid !== undefined) {
      sets.push('pid = ?');
      params.push(extra.pid);
    }
    if (extra.backend !== undefined) {
      sets.push('backend = ?');
      params.push(extra.backend);
    }
    params.push(id);
    await this.db.run(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`, params);
  }

  /** Record progress: the step reached and the losses of the steps since the last report. */
  async recordProgress(id: string, step: number, losses: { step: number; loss: number }[]): Promise<void> {
    await this.db.transaction(async () => {
      for (const l of losses) {
        await this.db.run('INSERT OR REPLACE INTO run_losses (run_id, step, loss) VALUES (?, ?, ?)', [id, l.step, l.loss]);
      }
      const last = losses.length ? losses[losses.length - 1].loss : null;
      await this.db.run('UPDATE runs SET step = ?, last_loss = COALESCE(?, last_loss), updated_at = ? WHERE id = ?', [step, last, now(), id]);
    });
  }

  async losses(id: string): Promise<{ step: number; loss: number }[]> {
    return this.db.all('SELECT step, loss FROM run_losses WHERE run_id = ? ORDER BY step', [id]);
  }

  /** Forget losses after `step` (a resumed run repeats those steps). */
  async truncateLosses(id: string, step: number): Promise<void> {
    await this.db.run('DELETE FROM run_losses WHERE run_id = ? AND step > ?', [id, step]);
  }

  async addPreview(id: string, step: number, file: string): Promise<void> {
    await this.db.run('INSERT OR REPLACE INTO run_previews (run_id, step, file) VALUES (?, ?, ?)', [id, step, file]);
  }

  async previews(id: string): Promise<{ step: number; file: string }[]> {
    return this.db.all('SELECT step, file FROM run_previews WHERE run_id = ? ORDER BY step', [id]);
  }
}

// ---------------------------------------------------------------- checkpoints

export class CheckpointRepo {
  constructor(private readonly db: Db) {}

  async insert(c: Omit<Checkpoint, 'createdAt'>): Promise<Checkpoint> {
    await this.db.run(
      'INSERT INTO checkpoints (id, run_id, step, file, sha256, loss, weights_digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [c.id, c.runId, c.step, c.file, c.sha256, c.loss, c.weightsDigest, now()],
    );
    return (await this.latest(c.runId, c.id))!;
  }

  /** Any checkpoint by id: a run's or a model's. */
  async get(id: string): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.get<CheckpointRow>('SELECT * FROM checkpoints WHERE id = ?', [id]);
    return r && toStoredCheckpoint(r);
  }

  async list(runId?: string): Promise<Checkpoint[]> {
    const rows = runId
      ? await this.db.all<CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step', [runId])
      : await this.db.all<CheckpointRow>(
          'SELECT c.* FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.deleted_at IS NULL ORDER BY c.created_at DESC',
        );
    return rows.map(toCheckpoint);
  }

  /** Any checkpoint (a run's or a model's) with these weights. */
  async bySha256(sha256: string): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.get<CheckpointRow>('SELECT * FROM checkpoints WHERE sha256 = ? LIMIT 1', [sha256]);
    return r && toStoredCheckpoint(r);
  }

  /** A run's newest checkpoint (or the one with id `id` of that run). */
  async latest(runId: string, id?: string): Promise<Checkpoint | undefined> {
    const r = id
      ? await this.db.get<CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? AND id = ?', [runId, id])
      : await this.db.get<CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1', [runId]);
    return r && toCheckpoint(r);
  }

  /**
   * Checkpoints beyond the newest `keep` of a run that no gallery sample was made from (those stay,
   * so every sample can be reproduced). keep = 0 keeps all.
   */
  async prunable(runId: string, keep: number): Promise<Checkpoint[]> {
    if (keep <= 0) return [];
    const rows = await this.db.all<CheckpointRow>(
      `SELECT c.* FROM checkpoints c WHERE c.run_id = ? AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.checkpoint_id = c.id)
       AND c.id NOT IN (SELECT id FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT ?) ORDER BY c.step`,
      [runId, runId, keep],
    );
    return rows.map(toCheckpoint);
  }

  async remove(id: string): Promise<void> {
    await this.db.run('DELETE FROM checkpoints WHERE id = ?', [id]);
  }

  async count(runId: string): Promise<number> {
    const r = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM checkpoints WHERE run_id = ?', [runId]);
    return r?.n ?? 0;
  }
}

// ---------------------------------------------------------------- samples

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
});

export class SampleRepo {
  constructor(private readonly db: Db) {}

  async insert(s: Omit<SampleRecord, 'createdAt'> & { createdAt?: string }): Promise<SampleRecord> {
    await this.db.run(
      `INSERT INTO samples (id, file, seed, sampler, steps, sampler_options_json, schedule_json, checkpoint_id, checkpoint_sha256,
         run_id, width, height, backend, app_version, prediction, nfe, origin_json, parent_id, created_at, kind, grid_id, grid_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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

export interface Store {
  db: Db;
  datasets: DatasetRepo;
  runs: RunRepo;
  checkpoints: CheckpointRepo;
  samples: SampleRepo;
  models: ModelRepo;
  presets: PresetRepo;
}

export function repositories(db: Db): Store {
  return {
    db,
    datasets: new DatasetRepo(db),
    runs: new RunRepo(db),
    checkpoints: new CheckpointRepo(db),
    samples: new SampleRepo(db),
    models: new ModelRepo(db),
    presets: new PresetRepo(db),
  };
}
