/**
 * `models:export`: a checkpoint's weights (the EMA copies) as an ONNX UNet, inputs sample
 * [B,3,H,W] and timestep [B], output out_sample; the file carries the prediction type and schedule
 * as metadata, so `models:import` (here or in another tool) knows how to sample it.
 *
 * Written atomically and never over an existing file: to a path the caller names (CLI, desktop),
 * or, with `download`, to a fresh folder under <library>/exports that web mode serves once
 * (services/downloads.ts, GET /api/exports/<id>/<name>).
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ApiError } from '../api/errors';
import type { ExportModelRequest } from '../api/requests';
import type { ModelExportResult } from '../api/types';
import { commitNoClobber } from '../gallery/atomic';
import { configOfWeights, parseWeights } from '../network/weights';
import { exportUNetToOnnx } from '../onnx/export';
import type { Library } from '../db/library';
import type { Store } from '../db/repositories';
import { writeTemp } from '../db/files';
import { APP_VERSION } from '../version';
import type { ExportDownloads } from './downloads';
import { checkpointSource } from './models';

export interface ModelExportDeps {
  store: Store;
  library: Library;
  downloads: ExportDownloads;
}

export async function exportCheckpointOnnx(d: ModelExportDeps, req: ExportModelRequest): Promise<ModelExportResult> {
  const ck = await d.store.checkpoints.get(req.checkpointId);
  if (!ck) throw new ApiError('not_found', `No checkpoint ${req.checkpointId}; list a run's checkpoints with checkpoints:list (sfumato runs show <run>).`, { field: 'checkpointId' });
  if (ck.file.endsWith('.onnx')) {
    throw new ApiError('bad_request', `${req.checkpointId} is already an ONNX model (${d.library.abs(ck.file)}); use that file as it is.`, { field: 'checkpointId' });
  }
  const src = await checkpointSource(d.store, ck);
  const name = src.runId ?? src.modelId ?? ck.id;
  // WeightsFormatError (a damaged checkpoint file) maps to bad_request through toApiError.
  const parsed = parseWeights(new Uint8Array(await fs.readFile(d.library.abs(ck.file))));
  const bytes = exportUNetToOnnx(
    { config: configOfWeights(parsed), tensors: parsed.tensors },
    { prediction: src.config.objective, schedule: src.config.schedule, appVersion: APP_VERSION, name, classes: src.config.classes },
  );

  const dl = req.download ? await d.downloads.create() : undefined;
  const target = dl ? join(dl.dir, `${name}-step${ck.step}.onnx`) : resolve(req.to!);
  const dir = dirname(target);
  let tmp: string | undefined;
  try {
    if (!dl) {
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new ApiError('bad_request', `${dir} is not a folder; give a file name in an existing folder.`, { field: 'to' });
    }
    tmp = await writeTemp(dir, basename(target), bytes);
    await commitNoClobber(tmp, dir, basename(target), new Set(), false).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ApiError('conflict', `${target} exists; choose another file name (an export never overwrites a file).`, { field: 'to' });
      throw e;
    });
    tmp = undefined;
  } catch (e) {
    if (tmp) await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (dl) await d.downloads.discard(dl.id);
    throw e;
  }
  const result: ModelExportResult = { path: target, bytes: bytes.length, checkpointId: ck.id };
  if (dl) result.download = d.downloads.register(dl.id, target);
  return result;
}
