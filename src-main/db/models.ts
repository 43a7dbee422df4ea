/**
 * The models table: bundled base models (copied into the library when first used) and imported
 * ONNX UNets. Each model owns one checkpoint row holding its weights file, so gallery samples name
 * a checkpoint whatever they were made from, and reproduce finds it the same way.
 */
import type { TrainConfig } from '../api/types';
import type { Db } from './db';
import { toStoredCheckpoint, type CheckpointRow, type StoredCheckpoint } from './checkpoint-rows';

export type ModelKind = 'bundled' | 'onnx';

export interface StoredModel {
  id: string;
  kind: ModelKind;
  name: string;
  sha256: string;
  /** what sampling needs: architecture, schedule, objective (prediction), image size */
  config: TrainConfig;
  /** what inspection found (imported ONNX models), else null */
  signature: unknown;
  createdAt: string;
  /** the checkpoint row that holds the weights */
  checkpoint: StoredCheckpoint;
}

interface ModelRow {
  id: string;
  kind: ModelKind;
  name: string;
  sha256: string;
  config_json: string;
  signature_json: string | null;
  created_at: string;
}

export class ModelRepo {
  constructor(private readonly db: Db) {}

  /** Records a model and the checkpoint row of its weights file, together or not at all. */
  async insert(m: { id: string; kind: ModelKind; name: string; sha256: string; config: TrainConfig; signature?: unknown; checkpointId: string; file: string; step: number }): Promise<StoredModel> {
    const t = new Date().toISOString();
    await this.db.transaction(async () => {
      await this.db.run('INSERT INTO models (id, kind, name, sha256, config_json, signature_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        m.id,
        m.kind,
        m.name,
        m.sha256,
        JSON.stringify(m.config),
        m.signature === undefined ? null : JSON.stringify(m.signature),
        t,
      ]);
      await this.db.run('INSERT INTO checkpoints (id, run_id, model_id, step, file, sha256, loss, weights_digest, created_at) VALUES (?, NULL, ?, ?, ?, ?, NULL, NULL, ?)', [
        m.checkpointId,
        m.id,
        m.step,
        m.file,
        m.sha256,
        t,
      ]);
    });
    return (await this.get(m.id))!;
  }

  /**
   * A newer version of a bundled model (same id, other weights): the model row takes its name,
   * sha256 and config, and a new checkpoint row holds its file. The earlier checkpoint rows stay
   * (samples name them); the model's checkpoint is the one with its current sha256.
   */
  async upgradeBundled(m: { id: string; name: string; sha256: string; config: TrainConfig; checkpointId: string; file: string; step: number }): Promise<StoredModel> {
    const t = new Date().toISOString();
    await this.db.transaction(async () => {
      await this.db.run("UPDATE models SET name = ?, sha256 = ?, config_json = ? WHERE id = ? AND kind = 'bundled'", [m.name, m.sha256, JSON.stringify(m.config), m.id]);
      await this.db.run('INSERT INTO checkpoints (id, run_id, model_id, step, file, sha256, loss, weights_digest, created_at) VALUES (?, NULL, ?, ?, ?, ?, NULL, NULL, ?)', [m.checkpointId, m.id, m.step, m.file, m.sha256, t]);
    });
    return (await this.get(m.id))!;
  }

  async get(id: string): Promise<StoredModel | undefined> {
    const r = await this.db.get<ModelRow>('SELECT * FROM models WHERE id = ?', [id]);
    return r && this.withCheckpoint(r);
  }

  async bySha256(sha256: string, kind: ModelKind): Promise<StoredModel | undefined> {
    const r = await this.db.get<ModelRow>('SELECT * FROM models WHERE sha256 = ? AND kind = ? LIMIT 1', [sha256, kind]);
    return r && this.withCheckpoint(r);
  }

  async list(kind?: ModelKind): Promise<StoredModel[]> {
    const rows = kind
      ? await this.db.all<ModelRow>('SELECT * FROM models WHERE kind = ? ORDER BY created_at, id', [kind])
      : await this.db.all<ModelRow>('SELECT * FROM models ORDER BY created_at, id');
    return Promise.all(rows.map((r) => this.withCheckpoint(r)));
  }

  private async withCheckpoint(r: ModelRow): Promise<StoredModel> {
    // the checkpoint of the model's current weights (a bundled model upgraded by a newer app keeps
    // its earlier versions' rows for their samples)
    const ck = await this.db.get<CheckpointRow>('SELECT * FROM checkpoints WHERE model_id = ? ORDER BY sha256 = ? DESC, created_at DESC, step DESC LIMIT 1', [r.id, r.sha256]);
    if (!ck) throw new Error(`The library database has model ${r.id} without its weights (no checkpoint row); import or reinstall the model again.`);
    return {
      id: r.id,
      kind: r.kind,
      name: r.name,
      sha256: r.sha256,
      config: JSON.parse(r.config_json) as TrainConfig,
      signature: r.signature_json ? (JSON.parse(r.signature_json) as unknown) : null,
      createdAt: r.created_at,
      checkpoint: toStoredCheckpoint(ck),
    };
  }
}
