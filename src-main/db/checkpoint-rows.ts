/** Checkpoint rows to contract types, shared by the checkpoint and model repositories. */
import type { Checkpoint } from '../api/types';

export interface CheckpointRow {
  id: string;
  /** the training run that wrote it, or null for a model's weights (then model_id is set) */
  run_id: string | null;
  model_id: string | null;
  step: number;
  file: string;
  sha256: string;
  loss: number | null;
  weights_digest: string | null;
  created_at: string;
}

/**
 * A checkpoint row of either owner: a training run's checkpoint (runId) or the weights of a
 * bundled or imported model (modelId). Lists by run only ever hold the first kind.
 */
export type StoredCheckpoint = Omit<Checkpoint, 'runId'> & { runId: string | null; modelId: string | null };

export const toStoredCheckpoint = (r: CheckpointRow): StoredCheckpoint => ({ ...toCheckpoint(r), runId: r.run_id, modelId: r.model_id });

/** A run's checkpoint (rows selected by run_id, never a model's). */
export const toCheckpoint = (r: CheckpointRow): Checkpoint => ({
  id: r.id,
  runId: r.run_id!,
  step: r.step,
  file: r.file,
  sha256: r.sha256,
  loss: r.loss,
  weightsDigest: r.weights_digest,
  createdAt: r.created_at,
});
