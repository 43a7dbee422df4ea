/**
 * Plain data types that cross the contract. No Node imports: the renderer imports this file.
 * Dates are ISO-8601 strings; ids are short prefixed strings (`ds_…`, `run_…`, `ckpt_…`, `smp_…`, `job_…`).
 */

export type ImportErrorCode = 'unsupported' | 'corrupt' | 'empty' | 'unreadable' | 'too_large';

export interface ImportError {
  /** path relative to the imported folder (forward slashes) */
  file: string;
  code: ImportErrorCode;
  message: string;
}

export interface Dataset {
  id: string;
  name: string;
  sourceDir: string;
  imageSize: number;
  background: string;
  itemCount: number;
  errorCount: number;
  createdAt: string;
}

export interface DatasetItem {
  id: string;
  datasetId: string;
  /** path relative to the source folder */
  file: string;
  format: string;
  width: number;
  height: number;
  sha256: string;
  /** library-relative path of the thumbnail PNG */
  thumb: string;
}

export interface DatasetDetail extends Dataset {
  items: DatasetItem[];
  errors: ImportError[];
}

export interface ImportDatasetRequest {
  dir: string;
  name?: string;
  /** training resolution of the prepared cache (default 32) */
  imageSize?: number;
  /** colour that replaces transparency, `#rrggbb` (default white) */
  background?: string;
}

export interface DuplicateFile {
  file: string;
  /** the imported file with the same bytes */
  duplicateOf: string;
}

export interface ImportDatasetResult {
  dataset: Dataset;
  imported: number;
  errors: ImportError[];
  /** exact duplicates (same bytes) left out of the dataset */
  duplicates: DuplicateFile[];
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'interrupted' | 'failed' | 'completed' | 'cancelled';

export const RUN_STATUSES: readonly RunStatus[] = [
  'queued',
  'running',
  'paused',
  'interrupted',
  'failed',
  'completed',
  'cancelled',
];

export type TrainBackend = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Everything that defines a training run. Defaults live in src-main/training/config.ts. */
export interface TrainConfig {
  imageSize: number;
  baseChannels: number;
  channelMults: number[];
  resBlocks: number;
  attentionResolutions: number[];
  groups: number;
  dropout: number;
  batchSize: number;
  lr: number;
  ema: number;
  schedule: 'linear';
  betaStart: number;
  betaEnd: number;
  trainTimesteps: number;
  objective: 'eps';
  steps: number;
  checkpointEvery: number;
  backend: TrainBackend;
}

export interface Run {
  id: string;
  datasetId: string;
  status: RunStatus;
  config: TrainConfig;
  seed: number;
  step: number;
  lastLoss: number | null;
  backend: string | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Checkpoint {
  id: string;
  runId: string;
  step: number;
  /** library-relative path */
  file: string;
  sha256: string;
  loss: number | null;
  createdAt: string;
}

export interface RunDetail extends Run {
  checkpoints: Checkpoint[];
  losses: { step: number; loss: number }[];
}

export interface StartRunRequest {
  datasetId: string;
  seed?: number;
  config?: Partial<TrainConfig>;
}

export type SamplerName = 'ddim';

export interface GenerateRequest {
  /** a run id (its latest checkpoint) or a checkpoint id */
  runId?: string;
  checkpointId?: string;
  count: number;
  seed?: number;
  sampler?: SamplerName;
  steps?: number;
  eta?: number;
}

/** A gallery record: every input needed to reproduce the image exactly. */
export interface SampleRecord {
  id: string;
  /** library-relative path of the PNG */
  file: string;
  seed: number;
  sampler: SamplerName;
  steps: number;
  /** sampler settings beyond name and steps, e.g. {eta: 0, spacing: 'leading'} */
  samplerOptions: Record<string, number | string | boolean>;
  /** schedule descriptor, e.g. {kind: 'discrete', beta: 'linear', betaStart, betaEnd, trainSteps} */
  schedule: Record<string, number | string>;
  checkpoint: { id: string; sha256: string };
  runId: string | null;
  width: number;
  height: number;
  backend: string;
  appVersion: string;
  createdAt: string;
}

export interface GenerateResult {
  jobId: string;
  samples: SampleRecord[];
  cancelled: boolean;
}

export interface GalleryQuery {
  runId?: string;
  limit?: number;
  offset?: number;
}

export interface GalleryPage {
  samples: SampleRecord[];
  total: number;
}

export type JobKind = 'import' | 'train' | 'sample';
export type JobState = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';

export interface JobInfo {
  id: string;
  kind: JobKind;
  state: JobState;
  runId?: string;
  datasetId?: string;
  startedAt: string;
}

/** Progress of any long job, pushed as the `jobs:progress` event. */
export interface JobProgress {
  jobId: string;
  kind: JobKind;
  state: JobState;
  /** units done and total (images imported, training steps, sampler steps x images) */
  done: number;
  total: number;
  message?: string;
  runId?: string;
  datasetId?: string;
  /** training: latest loss and speed */
  loss?: number;
  stepsPerSec?: number;
  etaSec?: number;
  /** sampling: ids of samples finished so far */
  sampleIds?: string[];
  error?: ApiErrorShape;
}

export interface BackendStatus {
  active: string;
  /** why each better backend is not in use */
  unavailable: Record<string, string>;
}

export interface SystemInfo {
  appVersion: string;
  mode: 'desktop' | 'web' | 'cli';
  libraryPath: string;
  versions: Record<string, string>;
  backend: BackendStatus;
}

export type ApiErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'cancelled'
  | 'unavailable'
  | 'internal';

/** Errors cross both transports in this shape (Electron forwards only `message`, so we wrap). */
export interface ApiErrorShape {
  code: ApiErrorCode;
  message: string;
  details?: unknown;
}
