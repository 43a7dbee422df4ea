/**
 * Messages between the main side and a job process. Plain JSON-serialisable objects only: the
 * same messages cross child_process IPC (CLI, web mode) and Electron's utilityProcess port.
 */
import type { ApiErrorShape, ExportResult, GridRef, LikelihoodJobResult, OrtProviderChoice, PreviewHeldOut, ProvidersInfo, SampleOrigin, SampleRecord, SamplerName, SamplerOptions, TrainConfig } from '../api/types';

/** The parts of a sample record the main side knows before the job runs. */
export type SampleRecordBase = Omit<SampleRecord, 'id' | 'file' | 'seed' | 'nfe' | 'backend' | 'createdAt' | 'steps' | 'origin'>;

export interface TrainJobSpec {
  kind: 'train';
  runId: string;
  config: TrainConfig;
  seed: number;
  /** absolute path of the dataset's prepared pixel cache */
  datasetCache: string;
  /** the cache images to train on, in order (absent: all of them) */
  datasetIndices?: number[];
  /** class-conditional runs: the label of each of those images (K = the null class) */
  datasetLabels?: number[];
  /** absolute folder for this run's checkpoints */
  checkpointDir: string;
  /** library-relative folder of the same (used in checkpoint messages) */
  checkpointDirRel: string;
  /** absolute and library-relative folder for preview grids */
  previewDir: string;
  previewDirRel: string;
  /** start from a checkpoint: continue it (resume) or take its weights (fine-tune) */
  init?: { file: string; mode: 'resume' | 'finetune'; preferEma: boolean; keepOptimizer: boolean };
  /** LoRA runs: sha256 of the model file the run started from (the adapter file's metadata) */
  baseSha256?: string;
  /** only time this many steps (after one warm-up step) and report; write nothing */
  estimateSteps?: number;
}

export interface SampleJobSpec {
  kind: 'sample';
  jobId: string;
  config: TrainConfig;
  /** absolute path of the checkpoint file (.sfwt) or of an imported ONNX model (.onnx) */
  checkpointFile: string;
  /** which engine runs the network: ONNX Runtime (default, tfjs as fallback) or tfjs */
  engine: 'auto' | 'onnx' | 'tfjs';
  /** ONNX Runtime execution provider: auto (default) probes (onnx/providers.ts); another is forced */
  provider?: OrtProviderChoice;
  /** ONNX Runtime threads (default: one per physical core); a worker's --threads */
  threads?: number;
  seeds: number[];
  sampler: SamplerName;
  steps: number | undefined;
  options: SamplerOptions;
  /** absolute output folder and its library-relative form */
  outDir: string;
  outDirRel: string;
  /** file name stem per image (the sample ids) */
  names: string[];
  /** provenance embedded in every PNG and recorded in the gallery (record.guidance: class-
   *  conditional models are sampled through diffusion/guidance.ts with that class and scale) */
  record: SampleRecordBase;
  /** per-image starting state (default: the seed's noise) */
  origins?: SampleOrigin[];
  /** image-to-image: the source image (NCHW in [-1, 1], one image, model size) */
  sourceImage?: Float32Array;
  /** don't announce records (reproduce writes to a scratch folder) */
  scratch?: boolean;
  /** denoising animation: send every step's predicted x0 or current state of image 0 as RGB */
  captureFrames?: 'x0' | 'xt';
  /** X/Y grid cells: each image's grid id and position, carried in its record */
  grids?: GridRef[];
  /** bake this LoRA adapter file into the weights at `scale` before export (network/lora-file.ts) */
  lora?: { file: string; scale: number };
}

export interface ExportJobSpec {
  kind: 'export';
  jobId: string;
  samples: { record: SampleRecord; absFile: string }[];
  /** a folder, or a file ending in .zip */
  to: string;
  format: 'png' | 'webp';
  contactSheet: boolean;
  /** nearest-neighbour factor 1..16 for every image and contact sheet cell (default 1) */
  upscale?: number;
  /** zip exports: put the contact sheet inside the zip (downloads) instead of beside it */
  sheetInZip?: boolean;
}

/**
 * An X/Y grid as one job: groups of cells that share a checkpoint and sampler settings, each run
 * as a sampling job of its own inside this process (so each cell is exactly a plain generate with
 * its settings), then the labelled grid image (gallery/grid.ts), written and announced as a
 * `sample` message with index -1. Cancelling keeps the finished cells and writes no grid image.
 */
export interface GridJobSpec {
  kind: 'grid';
  jobId: string;
  /** each group's names are cell sample ids; `cells[g][k]` is the row-major cell index of group g's image k */
  groups: SampleJobSpec[];
  cells: number[][];
  /** the grid image: its record (id, file, recipe …) and the labels to draw */
  image: {
    record: SampleRecord;
    outDir: string;
    outDirRel: string;
    imageSize: number;
    xTitle: string;
    yTitle: string;
    xValues: string[];
    yValues: string[];
  };
}

/**
 * Bits/dim of 8-bit images under a checkpoint (jobs/likelihood-job.ts): the PF-ODE and/or the VLB,
 * in batches, on the same ONNX Runtime network as sampling (tfjs as the fallback).
 */
export interface LikelihoodJobSpec {
  kind: 'likelihood';
  jobId: string;
  config: TrainConfig;
  checkpointFile: string;
  engine: 'auto' | 'onnx' | 'tfjs';
  provider?: OrtProviderChoice;
  appVersion: string;
  /** n images, NCHW, 8-bit levels, at the model's size */
  pixels: Uint8Array;
  method: 'pf-ode' | 'vlb' | 'both';
  probes: number;
  seed: number;
  batch: number;
  rtol: number;
  atol: number;
}

export type JobSpec = TrainJobSpec | SampleJobSpec | ExportJobSpec | GridJobSpec | LikelihoodJobSpec;

/** cancel: stop as soon as possible; pause (training): write a checkpoint, then stop.
 *  probe-providers: not a user job (no JobManager, no jobs:list row): probe the execution
 *  providers in this process of its own (a GPU driver crash cannot take the main side down), answer
 *  with one 'providers' message, then 'done'. */
export type ToJob = { type: 'start'; spec: JobSpec } | { type: 'cancel' } | { type: 'pause' } | { type: 'probe-providers' };

export type FromJob =
  | { type: 'started'; backend: string; unavailable: Record<string, string> }
  | {
      type: 'train-progress';
      step: number;
      total: number;
      losses: { step: number; loss: number }[];
      stepsPerSec: number;
      lr: number;
      gradNorm: number;
    }
  | { type: 'checkpoint'; step: number; file: string; sha256: string; weightsDigest: string; loss: number | null }
  /** memorisation: the copying signal of the preview samples (training/memorisation.ts) */
  /** heldOut: held-out quality of fresh samples (training/heldout-quality.ts), runs with held-out images */
  | { type: 'preview'; step: number; file: string; memorisation?: { nnRatio: number; copyShare: number }; heldOut?: PreviewHeldOut }
  /** sampling progress in image-steps: `done` of `total` = images x sampler steps */
  | { type: 'sample-progress'; done: number; total: number }
  /** an image is written; `record` is exactly what its PNG carries */
  | { type: 'sample'; index: number; record: SampleRecord }
  | { type: 'export-progress'; done: number; total: number }
  | { type: 'export-done'; result: ExportResult }
  | { type: 'log'; message: string }
  | { type: 'providers'; info: ProvidersInfo }
  /** likelihood: share of the evaluation done (0..1), and at the end the result */
  | { type: 'likelihood-progress'; fraction: number }
  | { type: 'likelihood-done'; result: LikelihoodJobResult }
  | { type: 'estimate'; secondsPerStep: number; steps: number }
  | { type: 'sample-preview'; image: number; step: number; total: number; dataUrl: string }
  | { type: 'frame'; step: number; rgb: Uint8Array }
  | { type: 'done'; cancelled: boolean; paused?: boolean }
  | { type: 'error'; error: ApiErrorShape };

/**
 * What a job handler (train-job.ts, sample-job.ts, export-job.ts) gets from the job process
 * (job-process.ts): a way to send messages, the cancel signal and the pause flag. Declared here, not in
 * job-process.ts, so that handlers never import the process entry point (which has side effects).
 */
export interface JobContext {
  post(msg: FromJob): void;
  signal: AbortSignal;
  /** true once the main side asked a training job to pause (checkpoint, then stop) */
  pauseRequested(): boolean;
}
