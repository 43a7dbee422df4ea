/**
 * Deleting a training run. Its losses, previews and checkpoints go, EXCEPT the checkpoints some
 * gallery sample (in the trash or not) was generated from: those rows stay, so reproduce still
 * finds the weights. A run that keeps any checkpoint keeps its row as a tombstone (deleted_at
 * set; runs:list hides it), because those checkpoints are sampled with its config; otherwise the
 * row goes too. Rows change in one transaction; the caller removes the files returned.
 */
import type { Checkpoint } from '../api/types';
import { toCheckpoint, type CheckpointRow } from './checkpoint-rows';
import type { Db } from './db';

export interface RunDeletion {
  /** checkpoints kept because gallery samples were made from them (their files stay) */
  kept: Checkpoint[];
  /** library-relative files whose rows were deleted: checkpoints and preview grids */
  files: string[];
  /** true when the run's row stays (deleted_at set) for the kept checkpoints */
  tombstone: boolean;
}

export async function deleteRunRows(db: Db, runId: string): Promise<RunDeletion> {
  return db.transaction(async () => {
    const used = 'EXISTS (SELECT 1 FROM samples s WHERE s.checkpoint_id = c.id)';
    const kept = (await db.all<CheckpointRow>(`SELECT c.* FROM checkpoints c WHERE c.run_id = ? AND ${used} ORDER BY c.step`, [runId])).map(toCheckpoint);
    const dropped = await db.all<{ file: string }>(`SELECT c.file FROM checkpoints c WHERE c.run_id = ? AND NOT ${used}`, [runId]);
    const previews = await db.all<{ file: string }>('SELECT file FROM run_previews WHERE run_id = ?', [runId]);
    await db.run('DELETE FROM checkpoints WHERE run_id = ? AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.checkpoint_id = checkpoints.id)', [runId]);
    await db.run('DELETE FROM run_losses WHERE run_id = ?', [runId]);
    await db.run('DELETE FROM run_previews WHERE run_id = ?', [runId]);
    await db.run('DELETE FROM run_likelihood WHERE run_id = ?', [runId]);
    if (kept.length) {
      const t = new Date().toISOString();
      await db.run('UPDATE runs SET deleted_at = ?, pid = NULL, updated_at = ? WHERE id = ?', [t, t, runId]);
    } else {
      await db.run('DELETE FROM runs WHERE id = ?', [runId]);
    }
    return { kept, files: [...dropped, ...previews].map((r) => r.file), tombstone: kept.length > 0 };
  });
}
