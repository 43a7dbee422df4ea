/**
 * Models as models: bundled base models (models/manifest.json, copied into the library the first
 * time they are sampled) and imported ONNX UNets, kept in the library's models table. Each owns
 * one checkpoint row holding its weights, so sampling, the gallery and reproduce name a checkpoint
 * whatever an image came from. Neither is a training run.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import { ApiError } from '../api/errors';
import type { BundledModel, ImportedModel, TrainConfig } from '../api/types';
import { newId } from '../db/ids';
import { writeFileAtomic } from '../db/files';
import type { StoredModel } from '../db/models';
import type { Store, StoredCheckpoint } from '../db/repositories';
import { resolveTrainConfig } from '../training/config';
import { findBundledModel, listBundledModels } from './bundled';
import { readUserFile, type ServiceContext } from './context';
import { toApiError } from '../api/errors';

/** Most bytes an imported ONNX model may have (protobuf's own limit is 2 GB). */
const MAX_ONNX_BYTES = 1024 * 1024 * 1024;

/** What a checkpoint's weights are sampled with: its run's or model's config, and the run (if any). */
export interface CheckpointSource {
  config: TrainConfig;
  /** the training run that wrote the checkpoint; null for a bundled or imported model */
  runId: string | null;
  modelId: string | null;
}

export async function checkpointSource(store: Store, ck: StoredCheckpoint): Promise<CheckpointSource> {
  if (ck.runId) {
    const run = await store.runs.get(ck.runId);
    if (run) return { config: run.config, runId: run.id, modelId: null };
  } else if (ck.modelId) {
    const m = await store.models.get(ck.modelId);
    if (m) return { config: m.config, runId: null, modelId: m.id };
  }
  throw new ApiError('internal', `Checkpoint ${ck.id} belongs to no run or model in the library database; re-import its model or remove the library's sfumato.db to start afresh.`);
}

export class ModelService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Bundled models (from the manifest) and the models imported into this library. */
  async list(): Promise<{ models: BundledModel[]; imported: ImportedModel[] }> {
    return {
      models: (await listBundledModels()).map(({ file: _file, ...m }) => m),
      imported: (await this.ctx.store.models.list('onnx')).map(importedOf),
    };
  }

  /** The checkpoint to sample a model with: a bundled model's (copied in on first use) or an imported one's. */
  async checkpointOf(modelId: string): Promise<StoredCheckpoint> {
    const stored = await this.ctx.store.models.get(modelId);
    if (stored?.kind === 'bundled') {
      // this app version may ship other weights under the id (bundledCheckpoint upgrades the copy)
      const shipped = (await listBundledModels()).find((m) => m.id === modelId);
      return shipped && shipped.sha256 !== stored.sha256 ? this.bundledCheckpoint(modelId) : stored.checkpoint;
    }
    if (stored) return stored.checkpoint;
    if (modelId.startsWith('model_')) throw notImported(modelId);
    return this.bundledCheckpoint(modelId);
  }

  /**
   * A bundled base model as a checkpoint of this library: its file copied in once, recorded as a
   * model with one checkpoint row, so sampling, the gallery and reproduce treat it like any other.
   */
  async bundledCheckpoint(modelId: string): Promise<StoredCheckpoint> {
    const m = await findBundledModel(modelId);
    const existing = await this.ctx.store.models.get(m.id);
    if (existing?.sha256 === m.sha256) return existing.checkpoint;
    const { library } = this.ctx;
    // Atomic (a full disk leaves no half-copied model); the file is keyed by model id (and, for a
    // newer version of a model this library already holds, its sha256), so a copy whose rows could
    // not be written is simply reused next time.
    const rel = library.rel('models', existing ? `${m.id}-${m.sha256.slice(0, 12)}.sfwt` : `${m.id}.sfwt`);
    await writeFileAtomic(library.abs(rel), await fs.readFile(m.file), { folder: library.root });
    if (existing) {
      // This version of the app ships other weights under the same id: sample with those from now
      // on, and keep the earlier version's checkpoint row and file, which its samples name (their
      // reproduce must draw the same images).
      const stored = await this.ctx.store.models.upgradeBundled({ id: m.id, name: m.name, sha256: m.sha256, config: m.trainConfig, checkpointId: newId('ckpt'), file: rel, step: m.trainConfig.steps });
      return stored.checkpoint;
    }
    const stored = await this.ctx.store.models.insert({
      id: m.id,
      kind: 'bundled',
      name: m.name,
      sha256: m.sha256,
      config: m.trainConfig,
      checkpointId: newId('ckpt'),
      file: rel,
      step: m.trainConfig.steps,
    });
    return stored.checkpoint;
  }

  /**
   * Import an external ONNX UNet (a diffusers UNet2DModel exported with optimum, a torch.onnx
   * export, or one of ours): validate its signature, store a copy in the library and record it as
   * a model whose checkpoint is the .onnx file. The user states what it predicts and its schedule.
   */
  async importOnnx(req: { file: string; prediction: string; schedule: unknown; name?: string }): Promise<ImportedModel> {
    // never a FIFO or device (it would block forever), never more than MAX_ONNX_BYTES in memory
    const bytes = await readUserFile(req.file, MAX_ONNX_BYTES, 'file');
    const { inspectOnnxUNet, OnnxModelError } = await import('../onnx/inspect');
    let sig;
    try {
      sig = inspectOnnxUNet(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      if (e instanceof OnnxModelError) throw new ApiError('bad_request', `${req.file}: ${e.message}`, { field: 'file', reason: e.code });
      throw e;
    }
    if (sig.channels !== 3) throw new ApiError('bad_request', `${req.file}: the model has ${sig.channels} image channels; Sfumato samples RGB models (3 channels).`, { field: 'file' });
    const size = sig.height ?? sig.sfumato?.imageSize;
    if (!size || (sig.width !== undefined && sig.width !== size)) {
      throw new ApiError('bad_request', `${req.file}: the model's sample input has no fixed square size (found ${sig.sample.dims.join('x')}); export it with a fixed H = W.`, { field: 'file' });
    }
    const objective = req.prediction as TrainConfig['objective'];
    if (!['eps', 'x0', 'v'].includes(objective)) throw new ApiError('bad_request', 'prediction must be eps, x0 or v.', { field: 'prediction' });
    let config: TrainConfig;
    try {
      // a class-conditional UNet (class_label input) samples with --class / --guidance like ours
      config = resolveTrainConfig({ imageSize: size, channelMults: [1], attentionResolutions: [], objective, schedule: req.schedule as never, ...(sig.classes ? { classConditional: true, classes: sig.classes } : {}) });
    } catch (e) {
      throw toApiError(e);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const existing = await this.ctx.store.models.bySha256(sha256, 'onnx');
    if (existing) return importedOf(existing);
    const { library } = this.ctx;
    const id = newId('model');
    const rel = library.rel('models', `${id}.onnx`);
    await writeFileAtomic(library.abs(rel), bytes, { folder: library.root });
    try {
      return importedOf(await this.ctx.store.models.insert({ id, kind: 'onnx', name: req.name ?? basename(req.file), sha256, config, signature: sig, checkpointId: newId('ckpt'), file: rel, step: 0 }));
    } catch (e) {
      // No rows (one transaction), no model file.
      await fs.rm(library.abs(rel), { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** An imported ONNX model by id. */
  async imported(id: string): Promise<ImportedModel> {
    const m = await this.ctx.store.models.get(id);
    if (!m || m.kind !== 'onnx') throw notImported(id);
    return importedOf(m);
  }
}

const notImported = (id: string) => new ApiError('not_found', `No imported model ${id}. List them with \`sfumato models list\`.`);

export function importedOf(m: StoredModel): ImportedModel {
  return { id: m.id, name: m.name, sha256: m.sha256, prediction: m.config.objective, schedule: m.config.schedule, imageSize: m.config.imageSize, checkpointId: m.checkpoint.id, signature: m.signature };
}
