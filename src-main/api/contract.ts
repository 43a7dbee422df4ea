/**
 * THE contract: one type map from channel to request and response. The Electron preload, the IPC
 * handlers, the HTTP server and the renderer's api client are all checked against it.
 * Keys are the string values of CHANNELS; the assertion at the bottom keeps the two in step.
 */
import type { Channel, EVENTS } from './channels';
import type {
  Checkpoint,
  Dataset,
  DatasetDetail,
  DatasetPreviewResult,
  GalleryPage,
  GalleryQuery,
  GenerateRequest,
  GenerateResult,
  ImportDatasetRequest,
  ImportDatasetResult,
  JobInfo,
  JobProgress,
  Run,
  RunDetail,
  SampleRecord,
  SampleMeta,
  ReproduceResult,
  ExportRequest,
  ExportResult,
  StartRunRequest,
  SystemInfo,
  BundledModel,
  ImportedModel,
  RunEstimate,
  TrainConfig,
} from './types';
import type { ReadRecipeRequest, RecipeResult } from './recipe';

type NoArgs = Record<string, never>;

export type SfumatoContract = {
  'system:info': { req: NoArgs; res: SystemInfo };
  'datasets:import': { req: ImportDatasetRequest; res: ImportDatasetResult };
  'datasets:list': { req: NoArgs; res: { datasets: Dataset[] } };
  /** preprocessing preview of a folder's first images (PNG data URLs), nothing stored */
  'datasets:preview': { req: ImportDatasetRequest & { count?: number }; res: DatasetPreviewResult };
  'datasets:get': { req: { id: string }; res: { dataset: DatasetDetail } };
  'datasets:remove': { req: { id: string }; res: { removed: boolean } };
  'runs:start': { req: StartRunRequest; res: { run: Run } };
  'runs:list': { req: { datasetId?: string }; res: { runs: Run[] } };
  'runs:get': { req: { id: string }; res: { run: RunDetail } };
  'runs:cancel': { req: { id: string }; res: { run: Run } };
  'runs:resume': { req: { id: string }; res: { run: Run } };
  /** checkpoint at the current step, then stop (status paused; runs:resume continues) */
  'runs:pause': { req: { id: string }; res: { run: Run } };
  /** calibrated seconds per step on this machine for a configuration (runs a few real steps) */
  'runs:estimate': { req: { datasetId: string; config?: Partial<TrainConfig> }; res: RunEstimate };
  'models:list': { req: NoArgs; res: { models: BundledModel[]; imported: ImportedModel[] } };
  /** import an external ONNX UNet; you state its prediction type and schedule */
  'models:import': { req: { file: string; prediction: 'eps' | 'x0' | 'v'; schedule: unknown; name?: string }; res: { model: ImportedModel } };
  'checkpoints:list': { req: { runId?: string }; res: { checkpoints: Checkpoint[] } };
  'sample:generate': { req: GenerateRequest; res: GenerateResult };
  'gallery:query': { req: GalleryQuery; res: GalleryPage };
  'gallery:get': { req: { id: string }; res: { sample: SampleRecord } };
  /** moves to the trash (undo with gallery:restore) */
  'gallery:delete': { req: { ids: string[] }; res: { deleted: number } };
  'gallery:restore': { req: { ids: string[] }; res: { restored: number } };
  /**
   * deletes trashed samples and their files for good (all of the trash without ids); a file that
   * could not be removed keeps its sample in the trash and is listed in `notRemoved`
   */
  'gallery:emptyTrash': { req: { ids?: string[] }; res: { deleted: number; notRemoved?: { id: string; file: string; message: string }[] } };
  'gallery:meta': { req: { id: string }; res: { meta: SampleMeta } };
  'gallery:update': {
    req: { ids: string[]; favorite?: boolean; addTags?: string[]; removeTags?: string[]; collection?: string };
    res: { updated: number };
  };
  'gallery:reproduce': { req: { id: string }; res: ReproduceResult };
  'gallery:export': { req: ExportRequest; res: ExportResult };
  'jobs:list': { req: NoArgs; res: { jobs: JobInfo[] } };
  'jobs:cancel': { req: { id: string }; res: { cancelled: boolean } };
  /** the recipe inside a PNG (ours or A1111-style), for the Sample page; nothing is stored */
  'gallery:readRecipe': { req: ReadRecipeRequest; res: RecipeResult };
};

export type Req<K extends Channel> = SfumatoContract[K]['req'];
export type Res<K extends Channel> = SfumatoContract[K]['res'];

/** Payloads of pushed events. */
export type SfumatoEvents = {
  [K in (typeof EVENTS)['jobProgress']]: JobProgress;
};

/** The shape every transport implements (preload object, HTTP client, in-process handlers). */
export type SfumatoApi = { [K in Channel]: (req: Req<K>) => Promise<Res<K>> };

// Compile-time check: the contract covers exactly the channel names.
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractCoversChannels: Exactly<keyof SfumatoContract, Channel> = true;
void contractCoversChannels;
