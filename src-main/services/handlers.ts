/**
 * The contract, implemented: one handler per row of the table in api/channels.ts (the mapped type
 * makes a missing or extra handler a compile error). Handlers call the same Sfumato methods the
 * CLI and tests use. `validatedApi` wraps them so that every transport gets the same entry points:
 * the request is validated once (api/channels.ts `validateRequest`), and whatever a handler throws
 * leaves as an ApiError through the one error mapping (api/errors.ts `toApiError`).
 */
import { promises as fs } from 'node:fs';
import { ALL_CHANNELS, validateRequest, type Channel, type Req, type ReqIn, type Res } from '../api/channels';
import { ApiError, toApiError } from '../api/errors';
import type { ExportRequest, GenerateRequest, ImportDatasetRequest, PreviewDatasetRequest, StartRunRequest } from '../api/requests';
import type {
  DatasetDetail,
  DatasetPreviewResult,
  ExportResult,
  GenerateResult,
  ImportDatasetResult,
  ImportedModel,
  JobProgress,
  ReproduceResult,
  Run,
  RunEstimate,
  SystemInfo,
} from '../api/types';
import type { JobManager } from '../jobs/manager';
import { newId } from '../store/ids';
import type { Library } from '../store/library';
import type { Store } from '../store/repositories';
import type { ExportDownloads } from './downloads';
import { listBundledModels } from './models';
import { exportCheckpointOnnx } from './model-export';
import { readRecipe } from '../gallery/recipe';

/** What an in-process caller (the CLI) may pass beside the request; IPC and HTTP pass nothing. */
export interface CallContext {
  /** progress of the job this call starts (sampling, import, export), besides the `jobs:progress` event */
  onProgress?: (p: JobProgress) => void;
}

export type Handlers = { [K in Channel]: (req: Req<K>, ctx: CallContext) => Promise<Res<K>> };
/** `Sfumato.api`: validated channel functions (what IPC, HTTP and the CLI call). */
export type ValidatedApi = { [K in Channel]: (req: ReqIn<K>, ctx?: CallContext) => Promise<Res<K>> };

type OnProgress = (p: JobProgress) => void;

/** What the handlers use of the service object (Sfumato), by shape, so this file needs no import of it. */
export interface HandlerHost {
  readonly store: Store;
  readonly library: Library;
  readonly jobs: JobManager;
  readonly downloads: ExportDownloads;
  systemInfo(): Promise<SystemInfo>;
  importDataset(req: ImportDatasetRequest, onProgress?: OnProgress): Promise<ImportDatasetResult>;
  previewDataset(req: PreviewDatasetRequest): Promise<DatasetPreviewResult>;
  getDataset(id: string): Promise<DatasetDetail>;
  removeDataset(id: string): Promise<boolean>;
  startRun(req: StartRunRequest): Promise<{ run: Run }>;
  resumeRun(id: string): Promise<{ run: Run }>;
  cancelRun(id: string): Promise<Run>;
  pauseRun(id: string): Promise<Run>;
  estimateRun(req: Req<'runs:estimate'>): Promise<RunEstimate>;
  listImportedModels(): Promise<ImportedModel[]>;
  importOnnxModel(req: Req<'models:import'>): Promise<ImportedModel>;
  generate(req: GenerateRequest, onProgress?: OnProgress): Promise<GenerateResult>;
  reproduce(sampleId: string, onProgress?: OnProgress): Promise<ReproduceResult>;
  exportSamples(req: ExportRequest, onProgress?: OnProgress): Promise<ExportResult>;
}

export function buildHandlers(s: HandlerHost): Handlers {
  return {
    'system:info': () => s.systemInfo(),
    'datasets:import': (req, ctx) => s.importDataset(req, ctx.onProgress),
    'datasets:list': async () => ({ datasets: await s.store.datasets.list() }),
    'datasets:preview': (req) => s.previewDataset(req),
    'datasets:get': async (req) => ({ dataset: await s.getDataset(req.id) }),
    'datasets:remove': async (req) => ({ removed: await s.removeDataset(req.id) }),
    'runs:start': async (req) => ({ run: (await s.startRun(req)).run }),
    'runs:list': async (req) => ({ runs: await s.store.runs.list(req.datasetId) }),
    'runs:get': async (req) => {
      const run = await s.store.runs.get(req.id);
      if (!run) throw new ApiError('not_found', `No run ${req.id}.`);
      const checkpoints = await s.store.checkpoints.list(req.id);
      return {
        run: {
          ...run,
          checkpoints,
          losses: await s.store.runs.losses(req.id),
          weightsDigest: checkpoints.length ? checkpoints[checkpoints.length - 1].weightsDigest : null,
          previews: await s.store.runs.previews(req.id),
        },
      };
    },
    'runs:cancel': async (req) => ({ run: await s.cancelRun(req.id) }),
    'runs:resume': async (req) => ({ run: (await s.resumeRun(req.id)).run }),
    'runs:pause': async (req) => ({ run: await s.pauseRun(req.id) }),
    'runs:estimate': (req) => s.estimateRun(req),
    'models:list': async () => ({ models: (await listBundledModels()).map(({ file: _file, ...m }) => m), imported: await s.listImportedModels() }),
    'models:import': async (req) => ({ model: await s.importOnnxModel(req) }),
    'models:export': (req) => exportCheckpointOnnx(s, req),
    'checkpoints:list': async (req) => ({ checkpoints: await s.store.checkpoints.list(req.runId) }),
    'sample:generate': (req, ctx) => s.generate(req, ctx.onProgress),
    'gallery:query': (req) => s.store.samples.query(req),
    'gallery:get': async (req) => {
      const sample = await s.store.samples.get(req.id);
      if (!sample) throw new ApiError('not_found', `No sample ${req.id}.`);
      return { sample };
    },
    'gallery:delete': async (req) => ({ deleted: await s.store.samples.trash(req.ids) }),
    'gallery:restore': async (req) => ({ restored: await s.store.samples.restore(req.ids) }),
    'gallery:emptyTrash': async (req) => {
      // Files first, then the rows of the files that are gone: a file that cannot be removed
      // keeps its row in the trash and is reported, never left behind without a row.
      const notRemoved: { id: string; file: string; message: string }[] = [];
      const deleted = await s.store.samples.emptyTrash(req.ids, async (rows) => {
        const gone: string[] = [];
        for (const r of rows) {
          try {
            await fs.rm(s.library.abs(r.file), { force: true });
            gone.push(r.id);
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
            notRemoved.push({
              id: r.id,
              file: r.file,
              message: `Could not remove ${s.library.abs(r.file)} (${code}); the sample stays in the trash. Check the file's permissions (or close the program using it) and empty the trash again.`,
            });
          }
        }
        return gone;
      });
      return notRemoved.length ? { deleted: deleted.length, notRemoved } : { deleted: deleted.length };
    },
    'gallery:meta': async (req) => {
      const meta = await s.store.samples.meta(req.id);
      if (!meta) throw new ApiError('not_found', `No sample ${req.id}.`);
      return { meta };
    },
    'gallery:update': async (req) => {
      if (req.favorite !== undefined) await s.store.samples.setFavorite(req.ids, req.favorite);
      if (req.addTags?.length || req.removeTags?.length) await s.store.samples.tag(req.ids, req.addTags ?? [], req.removeTags ?? []);
      if (req.collection) await s.store.samples.addToCollection(req.collection, req.ids, newId('col'));
      return { updated: req.ids.length };
    },
    'gallery:reproduce': (req, ctx) => s.reproduce(req.id, ctx.onProgress),
    'gallery:export': (req, ctx) => s.exportSamples(req, ctx.onProgress),
    'jobs:list': async () => ({ jobs: s.jobs.list() }),
    'jobs:cancel': async (req) => {
      const job = s.jobs.get(req.id);
      if (!job) return { cancelled: false };
      job.cancel();
      return { cancelled: true };
    },
    'gallery:readRecipe': async (req) => readRecipe(req),
  };
}

/** One validated entry point per channel: validate, call the handler, map what it throws. */
export function validatedApi(handlers: Handlers): ValidatedApi {
  const api: Partial<Record<Channel, (req: unknown, ctx?: CallContext) => Promise<unknown>>> = {};
  for (const ch of ALL_CHANNELS) {
    const fn = handlers[ch] as (req: unknown, ctx: CallContext) => Promise<unknown>;
    api[ch] = async (req, ctx) => {
      const valid = validateRequest(ch, req);
      try {
        return await fn(valid, ctx ?? {});
      } catch (e) {
        throw toApiError(e);
      }
    };
  }
  // Complete: one function per channel of ALL_CHANNELS (the keys of the table).
  return api as ValidatedApi;
}
