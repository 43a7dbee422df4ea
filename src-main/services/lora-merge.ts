/**
 * `models:merge`: a LoRA adapter baked into a model at a strength (network/lora-file.ts
 * applyAdapterToWeights, the same arithmetic sampling with --lora-scale uses), exported to ONNX by
 * the same exporter the sample job runs, and recorded as a model of the library (with the imported
 * ONNX models: the Models page lists it, `sample --model` samples it). Same weights, same graph:
 * the merged model samples exactly what sampling the run with --lora-scale S does.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { ApiError, toApiError } from '../api/errors';
import type { MergeModelRequest } from '../api/requests';
import type { ImportedModel } from '../api/types';
import { newId } from '../db/ids';
import { writeFileAtomic } from '../db/files';
import type { Library } from '../db/library';
import type { Store } from '../db/repositories';
import { applyAdapterToWeights, decodeAdapterFile } from '../network/lora-file';
import { configOfWeights, parseWeights } from '../network/weights';
import { exportUNetToOnnx } from '../onnx/export';
import { inspectOnnxUNet } from '../onnx/inspect';
import { APP_VERSION } from '../version';
import { checkpointSource, importedOf } from './models';
import type { SamplingService } from './sampling';

export interface MergeHost {
  readonly store: Store;
  readonly library: Library;
  readonly sampling: SamplingService;
}

export async function mergeLoraModel(s: MergeHost, req: MergeModelRequest): Promise<ImportedModel> {
  const checkpoint = await s.sampling.checkpointFor(req);
  const source = await checkpointSource(s.store, checkpoint);
  const lora = await s.sampling.resolveLora(checkpoint, req.lora, req.scale ?? 1);
  if (!lora) throw new ApiError('bad_request', 'Say which adapter to merge: a LoRA run (its own adapter) or lora FILE.', { field: 'lora' });
  let bytes: Uint8Array;
  try {
    const adapter = decodeAdapterFile(new Uint8Array(await fs.readFile(lora.abs)), lora.record.file);
    const parsed = applyAdapterToWeights(parseWeights(new Uint8Array(await fs.readFile(s.library.abs(checkpoint.file)))), adapter, lora.record.scale, lora.record.file);
    bytes = exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: source.config.objective as never, schedule: source.config.schedule, appVersion: APP_VERSION });
  } catch (e) {
    throw toApiError(e);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const existing = await s.store.models.bySha256(sha256, 'onnx');
  if (existing) return importedOf(existing);
  const { lora: _lora, ...config } = source.config;
  const id = newId('model');
  const rel = s.library.rel('models', `${id}.onnx`);
  await writeFileAtomic(s.library.abs(rel), bytes, { folder: s.library.root });
  const from = source.runId ?? source.modelId ?? checkpoint.id;
  const name = req.name ?? `${from} + LoRA ${lora.record.sha256.slice(0, 8)} ×${lora.record.scale}`;
  try {
    return importedOf(await s.store.models.insert({ id, kind: 'onnx', name, sha256, config, signature: inspectOnnxUNet(bytes), checkpointId: newId('ckpt'), file: rel, step: checkpoint.step }));
  } catch (e) {
    await fs.rm(s.library.abs(rel), { force: true }).catch(() => undefined);
    throw e;
  }
}
