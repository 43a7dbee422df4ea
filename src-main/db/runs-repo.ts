/** Repository: Training runs, their losses and previews (moved whole from db/repositories.ts; SQL in, plain contract types out). */
import type { PreviewHeldOut, PreviewMemorisation, Run, RunPreview, RunStatus, TrainConfig } from '../api/types';
import { deleteRunRows, type RunDeletion } from './run-delete';
import type { Db } from './db';
import { now } from './datasets-repo';

interface RunRow {
  id: string;
  dataset_id: string | null;
  status: RunStatus;
  config_json: string;
  seed: number;
  step: number;
  last_loss: number | null;
  backend: string | null;
  backend_note?: string | null;
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
  backendNote: r.backend_note ?? null,
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

  /** Deletes a run's rows, keeping the checkpoints gallery samples name (see db/run-delete.ts). */
  async remove(id: string): Promise<RunDeletion> {
    return deleteRunRows(this.db, id);
  }

  /** Runs whose job was alive when the app last stopped (status running/queued; paused runs have no job). */
  async active(): Promise<(Run & { pid: number | null })[]> {
    const rows = await this.db.all<RunRow>(`SELECT * FROM runs WHERE status IN ('queued','running')`);
    return rows.map((r) => ({ ...toRun(r), pid: r.pid }));
  }

  async setStatus(id: string, status: RunStatus, extra: { error?: string | null; pid?: number | null; backend?: string; backendNote?: string | null } = {}): Promise<void> {
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
    if (extra.backendNote !== undefined) {
      sets.push('backend_note = ?');
      params.push(extra.backendNote);
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

  async addPreview(id: string, step: number, file: string, memorisation?: PreviewMemorisation, heldOut?: PreviewHeldOut): Promise<void> {
    await this.db.run('INSERT OR REPLACE INTO run_previews (run_id, step, file, nn_ratio, copy_share, heldout_json) VALUES (?, ?, ?, ?, ?, ?)', [
      id,
      step,
      file,
      memorisation?.nnRatio ?? null,
      memorisation?.copyShare ?? null,
      heldOut ? JSON.stringify(heldOut) : null,
    ]);
  }

  async previews(id: string): Promise<RunPreview[]> {
    const rows = await this.db.all<{ step: number; file: string; nn_ratio: number | null; copy_share: number | null; heldout_json: string | null }>(
      'SELECT step, file, nn_ratio, copy_share, heldout_json FROM run_previews WHERE run_id = ? ORDER BY step',
      [id],
    );
    return rows.map((r) => ({
      step: r.step,
      file: r.file,
      ...(r.nn_ratio !== null && r.copy_share !== null ? { memorisation: { nnRatio: r.nn_ratio, copyShare: r.copy_share } } : {}),
      ...(r.heldout_json ? { heldOut: JSON.parse(r.heldout_json) as PreviewHeldOut } : {}),
    }));
  }
}

// ---------------------------------------------------------------- checkpoints
