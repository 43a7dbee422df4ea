import type { ScheduleSpec } from '../diffusion/process';
import type { RecipeOptionValues, SamplerName as DiffusionSamplerName } from '../diffusion/samplers/registry';
import type { LossWeighting as DiffusionLossWeighting, Objective as DiffusionObjective } from '../diffusion/model-family';

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
  /** images used for training (excluded ones not counted) */
  itemCount: number;
  /** images excluded from training (still in the prepared cache) */
  excludedCount: number;
  /** sha256 over the training size and the included images' file hashes, in order */
  contentHash: string;
  /** caption sidecars (.txt, .caption) found at import; not used for training yet */
  captionCount: number;
  errorCount: number;
  createdAt: string;
  /** where image labels came from: 'subfolders' (`--labels subfolders`) or 'none' */
  labels: DatasetLabels;
  /** the classes of the included images, by name, with their image counts (empty: unlabelled) */
  classes: DatasetClass[];
}

export type DatasetLabels = 'none' | 'subfolders';

/** One class of a labelled dataset: its name and how many included images carry it. */
export interface DatasetClass {
  name: string;
  count: number;
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
  /** position in the dataset's prepared cache */
  index: number;
  /** left out of training (runs started after the change) */
  excluded: boolean;
  /** the image's class (labelled datasets; null: unlabelled, trained as the null class) */
  class: string | null;
}

export interface DatasetDetail extends Dataset {
  items: DatasetItem[];
  errors: ImportError[];
}


/** Before/after of the preprocessing on the first images of a folder (nothing is stored). */
export interface DatasetPreviewResult {
  items: { file: string; width: number; height: number; before: string; after: string }[];
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
  /** caption sidecars (.txt, .caption) found and left aside: not used for training yet */
  captionFiles: number;
  /** other sidecars and system files ignored quietly (.json, .xmp, Thumbs.db, .DS_Store, …) */
  ignoredFiles: number;
  /** labelled imports: the classes found, with their image counts (= dataset.classes) */
  classes: DatasetClass[];
}

/** A dataset's images as the model sees them: the prepared cache, PNG data URLs at training size. */
export interface DatasetImagesResult {
  size: number;
  images: { itemId: string; index: number; src: string }[];
}

/** One folder of the web-mode folder picker (confined to the home and library folders). */
export interface FolderListing {
  /** absolute real path of this folder */
  path: string;
  /** the folder above, or null at the top of an allowed root */
  parent: string | null;
  /** images directly in this folder (by file name) */
  imageCount: number;
  /** visible subfolders (hidden ones left out), by name */
  folders: { name: string; path: string; imageCount: number }[];
  /** the folders the picker may show: the home and the library folder */
  roots: string[];
  /** true when more subfolders exist than were listed */
  truncated: boolean;
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

export type TrainBackend = 'auto' | 'tensorflow' | 'webgpu' | 'onnxruntime' | 'wasm' | 'cpu';
/** ONNX Runtime execution provider: auto probes WebGPU, CUDA, DirectML, CoreML, then CPU (onnx/providers.ts) */
export type OrtProviderChoice = 'auto' | 'webgpu' | 'cuda' | 'dml' | 'coreml' | 'cpu';

/**
 * Noise schedule of a run, as JSON (validated by src-main/diffusion/process.ts):
 * discrete VP chains `{kind: 'discrete', beta: 'linear' | 'scaled-linear' | 'cosine' | 'sigmoid' |
 * 'custom', trainSteps, betaStart?, betaEnd?, logSnrPoints?, zeroTerminalSnr?}` or continuous
 * processes `{kind: 'vp' | 'subvp', betaMin, betaMax}`, `{kind: 've', sigmaMin, sigmaMax}`,
 * `{kind: 'edm', sigmaMin, sigmaMax, sigmaData}`.
 */
export type ScheduleJson = ScheduleSpec;

/** What the network predicts (eps, x0, v: Ho 2020 / Salimans & Ho 2022; score: Song 2021; edm: Karras 2022 F). */
export type Objective = DiffusionObjective;
/** Per-timestep loss weighting: uniform, min-SNR-gamma (Hang et al. 2023), P2 (Choi et al. 2022). */
export type LossWeighting = DiffusionLossWeighting;

/** Everything that defines a training run. Defaults and validation live in src-main/training/config.ts. */
export interface TrainConfig {
  imageSize: number;
  baseChannels: number;
  channelMults: number[];
  resBlocks: number;
  attentionResolutions: number[];
  groups: number;
  dropout: number;
  /** images per micro-batch */
  batchSize: number;
  /** micro-batches per optimiser step (effective batch = batchSize x gradAccum) */
  gradAccum: number;
  optimizer: 'adam' | 'adamw';
  lr: number;
  /** decoupled weight decay (adamw only), applied to conv and linear weights */
  weightDecay: number;
  /** linear learning-rate warm-up steps */
  warmupSteps: number;
  lrSchedule: 'constant' | 'cosine';
  /** final learning rate of the cosine decay */
  minLr: number;
  /** clip the global gradient norm to this value (0 = off) */
  gradClip: number;
  ema: number;
  /** EMA decay warm-up min(decay, (1+n)/(10+n)) */
  emaWarmup: boolean;
  schedule: ScheduleJson;
  objective: Objective;
  weighting: LossWeighting;
  minSnrGamma: number;
  p2K: number;
  p2Gamma: number;
  /** random horizontal flips */
  hflip: boolean;
  /** non-leaking augmentation probability p (training/augment.ts; Karras et al. 2022 app. F.2), 0 = off;
   *  p > 0 gives the network an augmentation-label input (zero when sampling) */
  augment: number;
  steps: number;
  checkpointEvery: number;
  /** keep the newest K checkpoints (0 = all); checkpoints with gallery samples are always kept */
  keepCheckpoints: number;
  /** preview grid from the EMA weights every N steps (0 = off) */
  previewEvery: number;
  backend: TrainBackend;
  /** the ONNX Runtime engine's execution provider (default auto; a provider other than auto picks
   *  the onnxruntime backend when backend is auto). Absent in runs from before it existed. */
  provider?: OrtProviderChoice;
  /** LoRA fine-tuning (network/lora.ts): low-rank adapters on the chosen modules of a frozen base
   *  model; absent = train every weight */
  lora?: TrainLora;
  /** wasm/cpu: data-parallel gradient workers (one tfjs replica per thread); onnxruntime: intra-op
   *  threads; 0 = one per physical core on wasm and onnxruntime, else 1 */
  workers: number;
  /** class-conditional training (Ho & Salimans 2022): the network learns one embedding per class
   *  of the dataset plus a null class; absent = false (unconditional) */
  classConditional?: boolean;
  /** probability that an image's label is replaced by the null class during training (classifier-
   *  free guidance needs the unconditional model too); in [0, 1), default 0.1 */
  condDropout?: number;
  /** the run's classes in label order (set from the dataset when the run starts; label K = null) */
  classes?: string[];
}

/**
 * The copying signal of a training preview (training/memorisation.ts): nnRatio = the samples'
 * median distance to their nearest training image over the training images' median
 * nearest-neighbour distance (≳ 1: new pictures; well below 1: near-copies); copyShare = the share
 * of samples closer to a training image than that median.
 */
export interface PreviewMemorisation {
  nnRatio: number;
  copyShare: number;
}

/**
 * Held-out quality of a training preview (training/heldout-quality.ts): pixel SWD and feature
 * MMD² between n fresh samples and n images the run never trained on, each beside its floor (the
 * same measure between n training images and those held-out images). Lower is closer.
 */
export interface PreviewHeldOut {
  n: number;
  swd: number;
  mmd: number;
  floorSwd: number;
  floorMmd: number;
}

export interface RunPreview {
  step: number;
  /** library-relative path of the grid PNG */
  file: string;
  memorisation?: PreviewMemorisation;
  /** runs with held-out images (at least 8 excluded before the run started) */
  heldOut?: PreviewHeldOut;
}

/** LoRA settings of a run: rank r, alpha α (ΔW = α/r · up·down) and the adapted module kinds. */
export interface TrainLora {
  rank: number;
  alpha: number;
  targets: ('attn' | 'conv' | 'linear')[];
}

export interface Run {
  id: string;
  /** the user's name for the run (rename with runs:rename); by default "<dataset> · <preset> · <date>" */
  name: string;
  datasetId: string;
  status: RunStatus;
  config: TrainConfig;
  seed: number;
  step: number;
  lastLoss: number | null;
  backend: string | null;
  /** on ONNX Runtime: why each execution provider other than the run's was left out ("webgpu: …; cuda: …") */
  backendNote?: string | null;
  error: string | null;
  /** where the weights started: a checkpoint or bundled model (fine-tuning), or null (from scratch) */
  initFrom: { checkpointId?: string; modelId?: string; sha256: string } | null;
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
  /** sha256 of the model weights as float32 LE, tensors in name order (network/weights.ts weightsDigest) */
  weightsDigest: string | null;
  createdAt: string;
}

export interface RunDetail extends Run {
  /** weightsDigest of the final (latest) checkpoint */
  weightsDigest: string | null;
  previews: RunPreview[];
  checkpoints: Checkpoint[];
  losses: { step: number; loss: number }[];
  /** bits/dim of checkpoints measured so far (eval:likelihood with recordOnRun), by step */
  likelihood: RunLikelihoodPoint[];
  /** values the run trains: the adapters' with LoRA, else every weight's */
  trainableParams: number;
  /** values of the model it trains, adapters included */
  totalParams: number;
}

/** A checkpoint's bits/dim, stored with its run (the dashboard's curve beside the loss). */
export interface RunLikelihoodPoint {
  checkpointId: string;
  step: number;
  method: 'pf-ode' | 'vlb';
  images: 'held-out' | 'sample' | 'all';
  n: number;
  bitsPerDim: number;
  stdErr: number;
  computedAt: string;
}


/** A sampler's name: one per descriptor in src-main/diffusion/samplers/registry.ts. */
export type SamplerName = DiffusionSamplerName;

/**
 * Sampler settings beyond name and steps (validated against the model's schedule): the options
 * whose descriptors carry recipe bounds (eta, spacing, sigmas, rho, churn, snr, …), derived.
 */
export type SamplerOptions = RecipeOptionValues;


/**
 * How an image's starting state was made (all noise comes from the seeded generator):
 * - seed: the seed's own noise;
 * - variation: slerp(noise(seed), noise(subseed), strength) (A1111's variation seed);
 * - interpolation: slerp(noise(seed), noise(seedB), t), one frame of a seed-to-seed walk;
 * - img2img: SDEdit (Meng et al. 2022): a source image noised to `strength` of the way down the
 *   sampler's schedule, then denoised; `source` names it and its pixels' sha256.
 */
export type SampleOrigin =
  | { kind: 'seed' }
  | { kind: 'variation'; subseed: number; strength: number }
  | { kind: 'interpolation'; seedB: number; t: number }
  | { kind: 'img2img'; strength: number; source: { sampleId?: string; datasetItemId?: string; sha256: string } };

/** A gallery record: every input needed to reproduce the image exactly. */
/** The adapter a sample was made with (sampling --lora-scale / --lora FILE). */
export interface SampleLora {
  sha256: string;
  file: string;
  scale: number;
}

export interface SampleRecord {
  id: string;
  /** library-relative path of the PNG */
  file: string;
  seed: number;
  sampler: SamplerName;
  steps: number;
  /** sampler settings beyond name and steps, e.g. {eta: 0, spacing: 'leading'} */
  samplerOptions: SamplerOptions;
  /** the model's noise schedule, e.g. {kind: 'discrete', beta: 'linear', betaStart, betaEnd, trainSteps} */
  schedule: ScheduleJson;
  /** what the network predicts */
  prediction: Objective;
  /** denoiser evaluations the sampler made for this image's batch */
  nfe: number;
  /** how the starting state was made */
  origin: SampleOrigin;
  /** the gallery sample this one was made from (variations, img2img), else null */
  parentId: string | null;
  checkpoint: { id: string; sha256: string };
  runId: string | null;
  width: number;
  height: number;
  backend: string;
  appVersion: string;
  createdAt: string;
  /** 'grid': an X/Y grid image (its recipe in `grid`); absent: an ordinary sample */
  kind?: 'grid';
  /** a LoRA adapter applied at sampling: its file (library-relative or as given), sha256 and strength */
  lora?: SampleLora;
  /** X/Y grids: a cell names its grid and position; the grid record its recipe and cells */
  grid?: GridRef;
  /** class-conditional models: the class sampled and the classifier-free guidance scale W */
  guidance?: SampleGuidance;
}

/** A class-conditional sample's conditioning: class name, its label index, guidance scale W. */
export interface SampleGuidance {
  /** the class name (null: unconditional, the null class) */
  class: string | null;
  /** its label index (K, the class count, for the null class) */
  classIndex: number;
  /** W: 1 = the plain conditional model, 0 = unconditional, > 1 = stronger class likeness */
  scale: number;
}

/** What an X/Y grid axis varies (api/grid.ts); guidance and class join when models have them. */
export type GridAxisKind = 'seed' | 'sampler' | 'steps' | 'checkpoint' | 'spacing' | 'class' | 'guidance';
export interface GridAxisSpec {
  kind: GridAxisKind;
  values: (string | number)[];
}
/** The full recipe of a grid, kept on its gallery record: base settings as resolved, and the axes. */
export interface GridRecipe {
  base: { checkpointId: string; seed: number; sampler: SamplerName; steps?: number; options: SamplerOptions; engine?: 'auto' | 'onnx' | 'tfjs'; class?: string; guidance?: number };
  x: GridAxisSpec;
  y: GridAxisSpec;
}
/**
 * On a gallery record: a cell names its grid and position (x, y); the grid record (kind 'grid')
 * names its recipe and its cells' sample ids in row-major order (y outer).
 */
export interface GridRef {
  id: string;
  x?: number;
  y?: number;
  recipe?: GridRecipe;
  cells?: string[];
}
export interface GridResult {
  jobId: string;
  gridId: string;
  /** the grid image's gallery record (kind 'grid'); absent when cancelled */
  grid?: SampleRecord;
  /** the cells finished, row-major */
  cells: SampleRecord[];
  cancelled: boolean;
}

export interface GenerateResult {
  jobId: string;
  samples: SampleRecord[];
  cancelled: boolean;
}


/** What the gallery keeps beside the record: organisation (not part of the image's recipe). */
export interface SampleMeta {
  favorite: boolean;
  tags: string[];
  collections: string[];
  deletedAt: string | null;
  /** "how typical is this image for its model", once computed (gallery:typicality) */
  typicality?: Typicality;
}

export interface ReproduceResult {
  sampleId: string;
  identical: boolean;
  /** largest per-channel difference, in levels of 255 */
  maxDiff: number;
  /** share of pixels that differ at all */
  differingShare: number;
  backend: string;
}


export interface ExportResult {
  path: string;
  count: number;
  files: string[];
  contactSheet?: string;
  /** with `download`: fetch it (once, within an hour) from GET /api/exports/<id>/<name> */
  download?: { id: string; name: string };
}

/** ONNX export of a checkpoint (models:export). */
export interface ModelExportResult {
  /** the .onnx file written (with `download`: inside the library's temporary exports folder) */
  path: string;
  bytes: number;
  checkpointId: string;
  /** with `download`: fetch it (once, within an hour) from GET /api/exports/<id>/<name> */
  download?: { id: string; name: string };
}

export interface GalleryPage {
  samples: SampleRecord[];
  total: number;
  /** ids of this page's samples that are favourites (organisation, not recipe: for the tiles' ★) */
  favorites: string[];
}

export type JobKind = 'import' | 'train' | 'sample' | 'export' | 'likelihood';
/** `queued`: waiting for a free slot (one training job, two sampling jobs at a time); no process yet. */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';

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
  /** training: latest loss, learning rate, gradient norm and speed */
  loss?: number;
  lr?: number;
  gradNorm?: number;
  /** training: library-relative path of the newest preview grid */
  preview?: string;
  /** training: the copying signal of that preview's samples */
  memorisation?: PreviewMemorisation;
  /** training: held-out quality at that preview (runs with held-out images) */
  heldOut?: PreviewHeldOut;
  stepsPerSec?: number;
  etaSec?: number;
  /** sampling: ids of samples finished so far */
  sampleIds?: string[];
  /** sampling: the predicted x0 of one image at the current step, as a PNG data URL (throttled) */
  previewImage?: string;
  /** sampling: which image (index in the request) the preview shows */
  previewIndex?: number;
  error?: ApiErrorShape;
}

export interface BackendStatus {
  active: string;
  /** why each better backend is not in use */
  unavailable: Record<string, string>;
}

/** A bundled base model (models/manifest.json). */
export interface BundledModel {
  id: string;
  name: string;
  sha256: string;
  trainConfig: TrainConfig;
  /** the sampler that shows this model best (first run, Sample page default) */
  sampler?: { name: SamplerName; steps: number; options?: SamplerOptions };
  description?: string;
  licence?: string;
}

/** An external ONNX UNet imported into the library (sampled with ONNX Runtime). */
export interface ImportedModel {
  id: string;
  name: string;
  sha256: string;
  prediction: Objective;
  schedule: ScheduleJson;
  imageSize: number;
  /** the library checkpoint holding its weights (sampling, gallery records) */
  checkpointId: string;
  /** what inspection found: inputs, timestep type, opset, metadata */
  signature: unknown;
}

/** runs:delete: what went and what stayed */
export interface RunDeleteResult {
  deleted: true;
  /** checkpoints kept because gallery images were generated from them (reproduce still works) */
  keptCheckpoints: number;
  /** files whose rows went but that could not be removed (remove them by hand) */
  notRemoved?: { file: string; message: string }[];
}

export interface RunEstimate {
  secondsPerStep: number;
  totalSeconds: number;
  steps: number;
  backend: string;
}

/** One ONNX Runtime execution provider of this machine (onnx/providers.ts). */
export interface ProviderStatus {
  provider: 'webgpu' | 'cuda' | 'dml' | 'coreml' | 'cpu';
  /** onnxruntime-node has it here (built in, or its opt-in library installed) */
  available: boolean;
  /** sessions of this kind run on it */
  selected: boolean;
  /** one line: why it is (not) selected */
  why: string;
}

/** The provider table of system:providers: every provider probed for training and for sampling. */
export interface ProvidersInfo {
  /** probed with a tiny training step (loss and gradients) against the CPU provider */
  training: ProviderStatus[];
  /** probed with a tiny denoiser run against the CPU provider */
  sampling: ProviderStatus[];
  /** ISO time of the probe (it runs once per app session, in a job process) */
  probedAt: string;
}

export interface SystemInfo {
  appVersion: string;
  mode: 'desktop' | 'web' | 'cli';
  libraryPath: string;
  /** the bundled demo image folder (import it with datasets:import), when present */
  demoDatasetDir: string | null;
  versions: Record<string, string>;
  backend: BackendStatus;
  /** `serve --queue`: the Redis queue (password hidden) and the workers heard from in the last 30 s */
  queue?: { url: string; workers: WorkerInfo[] };
}

/** A worker of a server with a job queue, as it advertises itself (jobs/queue-worker.ts). */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** ONNX Runtime execution providers / training backends this worker offers */
  providers: string[];
  concurrency: number;
  /** ids of the jobs running on it now */
  running: string[];
  /** 1-minute load average of its machine */
  load: number;
  lastSeen: string;
}

export type ApiErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'cancelled'
  | 'unavailable'
  | 'internal';

/** Errors cross both transports in this shape (Electron forwards only `message`, so we wrap). */
export interface ApiErrorShape {
  code: ApiErrorCode;
  message: string;
  details?: unknown;
}

/** One likelihood method's estimate over a set of images (bits per dimension of 8-bit RGB data). */
export interface LikelihoodEstimate {
  method: 'pf-ode' | 'vlb';
  /** mean bits/dim over the images */
  bitsPerDim: number;
  /** standard error of the mean (sample standard deviation of the per-image values / sqrt(n)) */
  stdErr: number;
  /** denoiser evaluations per batch (averaged over batches) */
  nfe: number;
  /**
   * 'dequantised': PF-ODE on uniformly dequantised data, k + u (Song et al. 2021), + 7 bits/dim;
   * 'discrete': the 8-bit bins directly (discretised Gaussian decoder, Ho et al. 2020). Both bound
   * the discrete NLL from above.
   */
  data: 'dequantised' | 'discrete';
  perImage: number[];
}

/** What the likelihood job returns. */
export interface LikelihoodJobResult {
  estimates: LikelihoodEstimate[];
  backend: string;
  wallSeconds: number;
}

/** An image the likelihood was measured on: a dataset item or a gallery sample. */
export interface LikelihoodImageRef {
  datasetItemId?: string;
  sampleId?: string;
  /** dataset file (relative to its folder) or gallery file */
  file: string;
}

/** `eval:likelihood` */
export interface LikelihoodReport {
  runId: string | null;
  modelId: string | null;
  checkpoint: { id: string; sha256: string };
  datasetId: string;
  /** which images: the run's held-out ones, a seeded sample of a dataset, or all of it */
  images: 'held-out' | 'sample' | 'all';
  n: number;
  probes: number;
  seed: number;
  batch: number;
  /** one entry per method asked for */
  results: { method: 'pf-ode' | 'vlb'; bitsPerDim: number; stdErr: number; nfe: number; data: 'dequantised' | 'discrete' }[];
  perImage: (LikelihoodImageRef & { bitsPerDim: Partial<Record<'pf-ode' | 'vlb', number>> })[];
  backend: string;
  wallSeconds: number;
  jobId: string;
  cancelled: boolean;
}

/** `datasets:outliers`: the dataset's included images by NLL under the run's model, least typical first */
export interface OutlierReport {
  datasetId: string;
  runId: string | null;
  modelId: string | null;
  checkpoint: { id: string; sha256: string };
  method: 'pf-ode' | 'vlb';
  /** images scored (all included images of the dataset, or the first --limit) */
  scored: number;
  meanBitsPerDim: number;
  outliers: { datasetItemId: string; file: string; index: number; bitsPerDim: number; rank: number }[];
  wallSeconds: number;
  jobId: string;
}

/** `gallery:typicality`: bits/dim of a gallery image under the model that made it, stored with the record */
export interface Typicality {
  sampleId: string;
  bitsPerDim: number;
  stdErr: number;
  method: 'pf-ode' | 'vlb';
  probes: number;
  seed: number;
  checkpointId: string;
  computedAt: string;
}
