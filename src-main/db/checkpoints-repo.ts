/** Repository: Checkpoints (moved whole from db/repositories.ts; SQL in, plain contract types out). */
import type { Checkpoint } from '../api/types';
import type { Db } from './db';
import { toCheckpoint, toStoredCheckpoint, type CheckpointRow, type StoredCheckpoint } from './checkpoint-rows';
import { now } from './datasets-repo';

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
