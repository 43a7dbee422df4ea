/**
 * THE contract, as one table: channel name -> request schema (zod) and response type. Everything
 * else derives from it: `Channel` and `ALL_CHANNELS`, the request types (`Req<K>`, inferred from
 * the schema), the validation every transport applies (`validateRequest`), the service's handler
 * map (services/handlers.ts must have one handler per row), the IPC handlers and the preload's
 * `invoke` (app/ipc.ts, preload.ts), the HTTP routes (server/http.ts, `channelPath`), and the
 * renderer's client (src-renderer/src/api.ts).
 *
 * Adding a channel: one row here (its request schema in api/requests.ts when it has fields) and
 * its handler in services/handlers.ts; the compiler asks for the handler.
 *
 * Names are `domain:action`; Electron IPC uses them as channel names, web mode as
 * `POST /api/<domain>/<action>`. Pinned by tests/unit/api/channels.test.ts: renaming one is a
 * breaking change for both transports. Response types stay in api/types.ts.
 */
import type { z } from 'zod';
import { ApiError } from './errors';
import * as R from './requests';
import { GridSchema } from './grid';
import type { RecipeResult } from './recipe';
import * as P from './presets';
import type { ImportPresetsResult, Preset, PresetFile } from './presets';
import type {
  BundledModel,
  Checkpoint,
  Dataset,
  DatasetDetail,
  DatasetImagesResult,
  DatasetPreviewResult,
  ExportResult,
  FolderListing,
  GalleryPage,
  GenerateResult,
  GridResult,
  ImportDatasetResult,
  ImportedModel,
  JobInfo,
  JobProgress,
  LikelihoodReport,
  OutlierReport,
  Typicality,
  ModelExportResult,
  ReproduceResult,
  Run,
  RunDeleteResult,
  RunDetail,
  RunEstimate,
  SampleMeta,
  SampleRecord,
  SystemInfo,
  ProvidersInfo,
  ApiErrorShape,
} from './types';

/** The response type of a row: a marker that carries `T` for the compiler and nothing at run time. */
export interface Reply<T> {
  readonly __reply?: T;
}
function reply<T>(): Reply<T> {
  return {};
}

export const CONTRACT = {
  'system:info': { req: R.NoArgs, res: reply<SystemInfo>() },
  /** the ONNX Runtime execution providers, probed in a job process (seconds; cached per session) */
  'system:providers': { req: R.NoArgs, res: reply<ProvidersInfo>() },
  'datasets:import': { req: R.ImportDatasetSchema, res: reply<ImportDatasetResult>() },
  'datasets:list': { req: R.NoArgs, res: reply<{ datasets: Dataset[] }>() },
  /** preprocessing preview of a folder's first images (PNG data URLs), nothing stored */
  'datasets:preview': { req: R.PreviewDatasetSchema, res: reply<DatasetPreviewResult>() },
  'datasets:get': { req: R.IdRequest, res: reply<{ dataset: DatasetDetail }>() },
  'datasets:remove': { req: R.IdRequest, res: reply<{ removed: boolean }>() },
  'runs:start': { req: R.StartRunSchema, res: reply<{ run: Run }>() },
  'runs:list': { req: R.RunsListSchema, res: reply<{ runs: Run[] }>() },
  'runs:get': { req: R.IdRequest, res: reply<{ run: RunDetail }>() },
  'runs:cancel': { req: R.IdRequest, res: reply<{ run: Run }>() },
  'runs:resume': { req: R.IdRequest, res: reply<{ run: Run }>() },
  /** checkpoint at the current step, then stop (status paused; runs:resume continues) */
  'runs:pause': { req: R.IdRequest, res: reply<{ run: Run }>() },
  /** calibrated seconds per step on this machine for a configuration (runs a few real steps) */
  'runs:estimate': { req: R.EstimateRunSchema, res: reply<RunEstimate>() },
  'models:list': { req: R.NoArgs, res: reply<{ models: BundledModel[]; imported: ImportedModel[] }>() },
  /** import an external ONNX UNet; you state its prediction type and schedule */
  'models:import': { req: R.ImportModelSchema, res: reply<{ model: ImportedModel }>() },
  /** a checkpoint's EMA weights as an ONNX UNet (sample + timestep -> output), to a file or a download */
  'models:export': { req: R.ExportModelSchema, res: reply<ModelExportResult>() },
  /** bake a LoRA adapter into a checkpoint's weights at a strength: a new model (listed with the imported ones) */
  'models:merge': { req: R.MergeModelSchema, res: reply<{ model: ImportedModel }>() },
  'checkpoints:list': { req: R.CheckpointsListSchema, res: reply<{ checkpoints: Checkpoint[] }>() },
  'sample:generate': { req: R.GenerateSchema, res: reply<GenerateResult>() },
  'gallery:query': { req: R.GalleryQuerySchema, res: reply<GalleryPage>() },
  'gallery:get': { req: R.IdRequest, res: reply<{ sample: SampleRecord }>() },
  /** moves to the trash (undo with gallery:restore) */
  'gallery:delete': { req: R.BulkIdsSchema, res: reply<{ deleted: number }>() },
  'gallery:restore': { req: R.BulkIdsSchema, res: reply<{ restored: number }>() },
  /**
   * deletes trashed samples and their files for good (all of the trash without ids); a file that
   * could not be removed keeps its sample in the trash and is listed in `notRemoved`
   */
  'gallery:emptyTrash': { req: R.EmptyTrashSchema, res: reply<{ deleted: number; notRemoved?: { id: string; file: string; message: string }[] }>() },
  'gallery:meta': { req: R.IdRequest, res: reply<{ meta: SampleMeta }>() },
  'gallery:update': { req: R.GalleryUpdateSchema, res: reply<{ updated: number }>() },
  'gallery:reproduce': { req: R.IdRequest, res: reply<ReproduceResult>() },
  'gallery:export': { req: R.ExportSchema, res: reply<ExportResult>() },
  'jobs:list': { req: R.NoArgs, res: reply<{ jobs: JobInfo[] }>() },
  'jobs:cancel': { req: R.IdRequest, res: reply<{ cancelled: boolean }>() },
  /** the recipe inside a PNG (ours or A1111-style), for the Sample page; nothing is stored */
  'gallery:readRecipe': { req: R.ReadRecipeSchema, res: reply<RecipeResult>() },
  'runs:rename': { req: R.RenameRunSchema, res: reply<{ run: Run }>() },
  /**
   * deletes a run that is not running or paused (cancel it first): its losses, previews and
   * checkpoints, except the checkpoints gallery images were generated from (kept, so reproduce works)
   */
  'runs:delete': { req: R.IdRequest, res: reply<RunDeleteResult>() },
  /** X/Y grid: every combination of two axes' values as gallery samples, plus a labelled grid image (api/grid.ts) */
  'sample:grid': { req: GridSchema, res: reply<GridResult>() },
  /** saved schedules and sampling / training presets of the library (api/presets.ts) */
  'presets:list': { req: P.PresetsListSchema, res: reply<{ presets: Preset[] }>() },
  /** saves one; a preset of the same kind and name is replaced */
  'presets:save': { req: P.SavePresetSchema, res: reply<{ preset: Preset; replaced: boolean }>() },
  'presets:rename': { req: P.RenamePresetSchema, res: reply<{ preset: Preset }>() },
  'presets:delete': { req: R.IdRequest, res: reply<{ deleted: boolean }>() },
  /** the export file's contents (the caller writes or downloads it) */
  'presets:export': { req: P.ExportPresetsSchema, res: reply<{ file: PresetFile }>() },
  'presets:import': { req: P.ImportPresetsSchema, res: reply<ImportPresetsResult>() },
  'datasets:rename': { req: R.RenameDatasetSchema, res: reply<{ dataset: Dataset }>() },
  /** exclude images from training (or include them again); the count and content hash follow */
  'datasets:exclude': { req: R.ExcludeImagesSchema, res: reply<{ dataset: Dataset }>() },
  /** rename a class of a labelled dataset (naming an existing class merges the two) */
  'datasets:renameClass': { req: R.RenameClassSchema, res: reply<{ dataset: Dataset }>() },
  /** a page of the prepared images at training size (PNG data URLs), in cache order */
  'datasets:images': { req: R.DatasetImagesSchema, res: reply<DatasetImagesResult>() },
  /** the folder picker: subfolders and image counts, only inside the home and library folders */
  'folders:list': { req: R.ListFoldersSchema, res: reply<FolderListing>() },
  /** bits/dim of a run's (or model's) checkpoint on dataset images: PF-ODE and/or VLB, a likelihood job */
  'eval:likelihood': { req: R.EvalLikelihoodSchema, res: reply<LikelihoodReport>() },
  /** a dataset's included images ranked by NLL under a model, least typical first */
  'datasets:outliers': { req: R.DatasetOutliersSchema, res: reply<OutlierReport>() },
  /** "how typical is this image for its model": bits/dim of a gallery image under its checkpoint, stored */
  'gallery:typicality': { req: R.TypicalitySchema, res: reply<{ typicality: Typicality }>() },
} as const satisfies Record<`${string}:${string}`, { req: z.ZodType; res: Reply<unknown> }>;

type Contract = typeof CONTRACT;
export type Channel = keyof Contract;
/** The request a handler receives (after validation: defaults applied, unknown keys refused). */
export type Req<K extends Channel> = z.output<Contract[K]['req']>;
/** What a caller may send (before validation). */
export type ReqIn<K extends Channel> = z.input<Contract[K]['req']>;
export type Res<K extends Channel> = Contract[K]['res'] extends Reply<infer T> ? T : never;

export const ALL_CHANNELS: readonly Channel[] = Object.keys(CONTRACT) as Channel[];
const CHANNEL_SET: ReadonlySet<string> = new Set(ALL_CHANNELS);

/** Whether `s` is a channel of the contract (the preload refuses any other). */
export function isChannel(s: unknown): s is Channel {
  return typeof s === 'string' && CHANNEL_SET.has(s);
}

/** `datasets:import` -> `/api/datasets/import` (the HTTP router's map is the exact inverse). */
export function channelPath(channel: Channel): string {
  return '/api/' + channel.replace(':', '/');
}

/** The shape every transport implements (the renderer's client, and `Sfumato.api` in process). */
export type SfumatoApi = { [K in Channel]: (req: Req<K>) => Promise<Res<K>> };

/**
 * Checks a request against its channel's schema; the parsed request, or ApiError('bad_request')
 * that names the channel and the first bad field (all issues in `details.issues`).
 */
export function validateRequest<K extends Channel>(channel: K, req: unknown): Req<K> {
  const schema: z.ZodType = CONTRACT[channel].req;
  const r = schema.safeParse(req ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ field: i.path.join('.') || '(request)', message: i.message }));
    const first = issues[0];
    throw new ApiError('bad_request', `${channel}: ${first.field}: ${first.message}`, { issues });
  }
  return r.data as Req<K>;
}

/** Events pushed from the main side to every renderer (IPC `webContents.send`, or the WebSocket). */
export const EVENTS = {
  jobProgress: 'jobs:progress',
} as const;
export type EventName = (typeof EVENTS)[keyof typeof EVENTS];
/** Payloads of pushed events. */
export type SfumatoEvents = {
  [K in (typeof EVENTS)['jobProgress']]: JobProgress;
};

/** Every IPC reply: handlers never throw across IPC (Electron would forward only the message). */
export type Envelope<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiErrorShape };

/**
 * What the Electron preload exposes as `window.sfumato` (src-main/preload.ts implements it; the
 * renderer's client uses it): one typed `invoke` for every channel, the job progress subscription,
 * and the path of a dropped file.
 */
export interface PreloadBridge {
  invoke<K extends Channel>(channel: K, req: ReqIn<K>): Promise<Envelope<Res<K>>>;
  /** subscribe to `jobs:progress`; returns the unsubscribe function */
  onJobProgress(cb: (p: JobProgress) => void): () => void;
  /** drag-and-drop: the file-system path of a dropped file or folder */
  pathForFile(file: File): string;
}
