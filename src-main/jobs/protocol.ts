/**
 * Messages between the main side and a job process. Plain JSON-serialisable objects only: the
 * same messages cross child_process IPC (CLI, web mode) and Electron's utilityProcess port.
 */
import type { ApiErrorShape, SamplerName, SamplerOptions, TrainConfig } from '../api/types';

export interface TrainJobSpec {
  kind: 'train';
  runId: string;
  config: TrainConfig;
  seed: number;
  /** absolute path of the dataset's prepared pixel cache */
  datasetCache: string;
  /** absolute folder for this run's checkpoints */
  checkpointDir: string;
  /** library-relative folder of the same (used in checkpoint messages) */
  checkpointDirRel: string;
  /** absolute and library-relative folder for preview grids */
  previewDir: string;
  previewDirRel: string;
  /** start from a checkpoint: continue it (resume) or take its weights (fine-tune) */
  init?: { file: string; mode: 'resume' | 'finetune'; preferEma: boolean; keepOptimizer: boolean };
}

export interface SampleJobSpec {
  kind: 'sample';
  jobId: string;
  config: TrainConfig;
  /** absolute path of the checkpoint file */
  checkpointFile: string;
  seeds: number[];
  sampler: SamplerName;
  steps: number | undefined;
  options: SamplerOptions;
  /** absolute output folder and its library-relative form */
  outDir: string;
  outDirRel: string;
  /** file name stem per image (the sample ids) */
  names: string[];
}

export type JobSpec = TrainJobSpec | SampleJobSpec;

export type ToJob = { type: 'start'; spec: JobSpec } | { type: 'cancel' };

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
  | { type: 'preview'; step: number; file: string }
  /** sampling progress in image-steps: `done` of `total` = images x sampler steps */
  | { type: 'sample-progress'; done: number; total: number }
  | { type: 'sample'; index: number; name: string; file: string; seed: number; width: number; height: number; nfe: number }
  | { type: 'log'; message: string }
  | { type: 'done'; cancelled: boolean }
  | { type: 'error'; error: ApiErrorShape };
