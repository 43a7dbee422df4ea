/**
 * The contract, implemented: one handler per row of the table in api/channels.ts (the mapped type
 * makes a missing or extra handler a compile error). Handlers call the services
 * (datasets, runs, models, sampling, reproduce, gallery) the composition root builds. `validatedApi` wraps them so that every transport gets the same entry points:
 * the request is validated once (api/channels.ts `validateRequest`), and whatever a handler throws
 * leaves as an ApiError through the one error mapping (api/errors.ts `toApiError`).
 */
import { ALL_CHANNELS, validateRequest, type Channel, type Req, type ReqIn, type Res } from '../api/channels';
import { toApiError } from '../api/errors';
import type { JobProgress, ProvidersInfo, SystemInfo } from '../api/types';
import { readRecipe } from '../gallery/recipe';
import type { JobManager } from '../jobs/manager';
import type { Library } from '../db/library';
import type { Store } from '../db/repositories';
import type { DatasetService } from './datasets';
import type { ExportDownloads } from './downloads';
import type { GalleryService } from './gallery';
import type { GridService } from './grid';
import type { LikelihoodService } from './likelihood';
import { listFolders } from './folders';
import { exportCheckpointOnnx } from './model-export';
import { mergeLoraModel } from './lora-merge';
import type { ModelService } from './models';
import type { PresetService } from './presets';
import type { ReproduceService } from './reproduce';
import type { RunService } from './runs';
import type { SamplingService } from './sampling';

/** What an in-process caller (the CLI) may pass beside the request; IPC and HTTP pass nothing. */
export interface CallContext {
  /** progress of the job this call starts (sampling, import, export), besides the `jobs:progress` event */
  onProgress?: (p: JobProgress) => void;
}

export type Handlers = { [K in Channel]: (req: Req<K>, ctx: CallContext) => Promise<Res<K>> };
/** `Sfumato.api`: validated channel functions (what IPC, HTTP and the CLI call). */
export type ValidatedApi = { [K in Channel]: (req: ReqIn<K>, ctx?: CallContext) => Promise<Res<K>> };

/** What the handlers use of the service object (Sfumato), by shape, so this file needs no import of it. */
export interface HandlerHost {
  readonly store: Store;
  readonly library: Library;
  readonly jobs: JobManager;
  readonly downloads: ExportDownloads;
  readonly datasets: DatasetService;
  readonly runs: RunService;
  readonly models: ModelService;
  readonly sampling: SamplingService;
  readonly grids: GridService;
  readonly reproduction: ReproduceService;
  readonly gallery: GalleryService;
  readonly presets: PresetService;
  readonly likelihood: LikelihoodService;
  systemInfo(): Promise<SystemInfo>;
  systemProviders(): Promise<ProvidersInfo>;
}

export function buildHandlers(s: HandlerHost): Handlers {
  return {
    'system:info': () => s.systemInfo(),
    'system:providers': () => s.systemProviders(),
    'datasets:import': (req, ctx) => s.datasets.import(req, ctx.onProgress),
    'datasets:list': async () => ({ datasets: await s.datasets.list() }),
    'datasets:preview': (req) => s.datasets.preview(req),
    'datasets:get': async (req) => ({ dataset: await s.datasets.get(req.id) }),
    'datasets:remove': async (req) => ({ removed: await s.datasets.remove(req.id) }),
    'runs:start': async (req) => ({ run: (await s.runs.start(req)).run }),
    'runs:list': async (req) => ({ runs: await s.runs.list(req.datasetId) }),
    'runs:get': async (req) => ({ run: await s.runs.get(req.id) }),
    'runs:cancel': async (req) => ({ run: await s.runs.cancel(req.id) }),
    'runs:resume': async (req) => ({ run: (await s.runs.resume(req.id)).run }),
    'runs:pause': async (req) => ({ run: await s.runs.pause(req.id) }),
    'runs:estimate': (req) => s.runs.estimate(req),
    'models:list': () => s.models.list(),
    'models:import': async (req) => ({ model: await s.models.importOnnx(req) }),
    'models:merge': async (req) => ({ model: await mergeLoraModel(s, req) }),
    'models:export': (req) => exportCheckpointOnnx(s, req),
    'checkpoints:list': async (req) => ({ checkpoints: await s.store.checkpoints.list(req.runId) }),
    'sample:generate': (req, ctx) => s.sampling.generate(req, ctx.onProgress),
    'gallery:query': (req) => s.gallery.query(req),
    'gallery:get': async (req) => ({ sample: await s.gallery.get(req.id) }),
    'gallery:delete': async (req) => ({ deleted: await s.gallery.trash(req.ids) }),
    'gallery:restore': async (req) => ({ restored: await s.gallery.restore(req.ids) }),
    'gallery:emptyTrash': (req) => s.gallery.emptyTrash(req),
    'gallery:meta': async (req) => ({ meta: await s.gallery.meta(req.id) }),
    'gallery:update': (req) => s.gallery.update(req),
    'gallery:reproduce': (req, ctx) => s.reproduction.sample(req.id, ctx.onProgress),
    'gallery:export': (req, ctx) => s.gallery.export(req, ctx.onProgress),
    'jobs:list': async () => ({ jobs: s.jobs.list() }),
    'jobs:cancel': async (req) => {
      const job = s.jobs.get(req.id);
      if (!job) return { cancelled: false };
      job.cancel();
      return { cancelled: true };
    },
    'gallery:readRecipe': async (req) => readRecipe(req),
    'runs:rename': async (req) => ({ run: await s.runs.rename(req.id, req.name) }),
    'runs:delete': (req) => s.runs.remove(req.id),
    'sample:grid': (req, ctx) => s.grids.run(req, ctx.onProgress),
    'presets:list': async (req) => ({ presets: await s.presets.list(req.kind) }),
    'presets:save': (req) => s.presets.save(req),
    'presets:rename': async (req) => ({ preset: await s.presets.rename(req.id, req.name) }),
    'presets:delete': async (req) => ({ deleted: await s.presets.remove(req.id) }),
    'presets:export': async (req) => ({ file: await s.presets.export(req) }),
    'presets:import': (req) => s.presets.import(req),
    'datasets:rename': async (req) => ({ dataset: await s.datasets.rename(req.id, req.name) }),
    'datasets:exclude': async (req) => ({ dataset: await s.datasets.exclude(req.id, req.itemIds, req.excluded) }),
    'datasets:renameClass': async (req) => ({ dataset: await s.datasets.renameClass(req.id, req.from, req.to) }),
    'datasets:images': (req) => s.datasets.images(req.id, req.offset, req.limit),
    'folders:list': (req) => listFolders(req.path, [s.library.root]),
    'eval:likelihood': (req, ctx) => s.likelihood.evaluate(req, ctx.onProgress),
    'datasets:outliers': (req, ctx) => s.likelihood.outliers(req, ctx.onProgress),
    'gallery:typicality': async (req, ctx) => ({ typicality: await s.likelihood.typicality(req, ctx.onProgress) }),
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
