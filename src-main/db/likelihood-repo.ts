/**
 * Stored likelihood results (migration 13): a gallery sample's "how typical" score and the
 * bits/dim of a run's checkpoints (the dashboard's curve beside the loss).
 */
import type { Db } from './db';
import type { RunLikelihoodPoint, Typicality } from '../api/types';

export class LikelihoodRepo {
  constructor(private readonly db: Db) {}

  async setTypicality(t: Typicality): Promise<void> {
    await this.db.run(
      `INSERT OR REPLACE INTO sample_likelihood (sample_id, checkpoint_id, method, bits_per_dim, std_err, probes, seed, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [t.sampleId, t.checkpointId, t.method, t.bitsPerDim, t.stdErr, t.probes, t.seed, t.computedAt],
    );
  }

  async typicality(sampleId: string): Promise<Typicality | undefined> {
    const r = await this.db.get<{ sample_id: string; checkpoint_id: string; method: string; bits_per_dim: number; std_err: number; probes: number; seed: number; computed_at: string }>(
      'SELECT * FROM sample_likelihood WHERE sample_id = ?',
      [sampleId],
    );
    return r && { sampleId: r.sample_id, checkpointId: r.checkpoint_id, method: r.method as Typicality['method'], bitsPerDim: r.bits_per_dim, stdErr: r.std_err, probes: r.probes, seed: r.seed, computedAt: r.computed_at };
  }

  async addRunPoint(runId: string, p: RunLikelihoodPoint): Promise<void> {
    await this.db.run(
      `INSERT OR REPLACE INTO run_likelihood (run_id, checkpoint_id, step, method, images, n, bits_per_dim, std_err, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [runId, p.checkpointId, p.step, p.method, p.images, p.n, p.bitsPerDim, p.stdErr, p.computedAt],
    );
  }

  async runPoints(runId: string): Promise<RunLikelihoodPoint[]> {
    const rows = await this.db.all<{ checkpoint_id: string; step: number; method: string; images: string; n: number; bits_per_dim: number; std_err: number; computed_at: string }>(
      'SELECT * FROM run_likelihood WHERE run_id = ? ORDER BY step, method',
      [runId],
    );
    return rows.map((r) => ({ checkpointId: r.checkpoint_id, step: r.step, method: r.method as RunLikelihoodPoint['method'], images: r.images as RunLikelihoodPoint['images'], n: r.n, bitsPerDim: r.bits_per_dim, stdErr: r.std_err, computedAt: r.computed_at }));
  }
}
