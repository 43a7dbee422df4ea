/**
 * Training-run configuration: defaults, and validation at the edge (before any compute), with
 * errors that name the field and the fix.
 */
import type { TrainBackend, TrainConfig } from '../api/types';

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  imageSize: 32,
  baseChannels: 32,
  channelMults: [1, 2, 2],
  resBlocks: 1,
  attentionResolutions: [8],
  groups: 8,
  dropout: 0,
  batchSize: 16,
  lr: 2e-4,
  ema: 0.999,
  schedule: 'linear',
  betaStart: 1e-4,
  betaEnd: 0.02,
  trainTimesteps: 1000,
  objective: 'eps',
  steps: 1000,
  checkpointEvery: 500,
  backend: 'auto',
};

export class TrainConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrainConfigError';
  }
}

const BACKENDS: readonly TrainBackend[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TrainConfigError(field, `${field} must be an integer between ${min} and ${max} (got ${JSON.stringify(v)}).`);
  }
  return v;
}

function num(field: string, v: unknown, min: number, max: number, openMin = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v > max || (openMin ? v <= min : v < min)) {
    throw new TrainConfigError(
      field,
      `${field} must be a number ${openMin ? '>' : '≥'} ${min} and ≤ ${max} (got ${JSON.stringify(v)}).`,
    );
  }
  return v;
}

/** Merge overrides onto the defaults and validate everything; `datasetSize` checks the batch. */
export function resolveTrainConfig(overrides: Partial<TrainConfig> = {}, datasetSize?: number): TrainConfig {
  const known = new Set(Object.keys(DEFAULT_TRAIN_CONFIG));
  for (const k of Object.keys(overrides)) {
    if (!known.has(k)) throw new TrainConfigError(k, `Unknown training setting "${k}". Known settings: ${[...known].join(', ')}.`);
  }
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...stripUndefined(overrides) };
  int('imageSize', c.imageSize, 4, 256);
  int('baseChannels', c.baseChannels, 1, 1024);
  if (!Array.isArray(c.channelMults) || c.channelMults.length === 0) {
    throw new TrainConfigError('channelMults', 'channelMults must list at least one multiplier, e.g. 1,2,2.');
  }
  c.channelMults.forEach((m, i) => int(`channelMults[${i}]`, m, 1, 64));
  int('resBlocks', c.resBlocks, 1, 8);
  if (!Array.isArray(c.attentionResolutions)) {
    throw new TrainConfigError('attentionResolutions', 'attentionResolutions must be a list of resolutions (may be empty).');
  }
  int('groups', c.groups, 1, 1024);
  num('dropout', c.dropout, 0, 0.9);
  int('batchSize', c.batchSize, 1, 4096);
  num('lr', c.lr, 0, 1, true);
  num('ema', c.ema, 0, 1);
  if (c.schedule !== 'linear') throw new TrainConfigError('schedule', `schedule "${c.schedule}" is not available yet; use "linear".`);
  num('betaStart', c.betaStart, 0, 1, true);
  num('betaEnd', c.betaEnd, 0, 1, true);
  if (c.betaEnd <= c.betaStart) throw new TrainConfigError('betaEnd', 'betaEnd must be larger than betaStart (e.g. 1e-4 .. 0.02).');
  int('trainTimesteps', c.trainTimesteps, 2, 100000);
  if (c.objective !== 'eps') throw new TrainConfigError('objective', `objective "${c.objective}" is not available yet; use "eps".`);
  int('steps', c.steps, 1, 10_000_000);
  int('checkpointEvery', c.checkpointEvery, 1, 10_000_000);
  if (!BACKENDS.includes(c.backend)) {
    throw new TrainConfigError('backend', `backend must be one of ${BACKENDS.join(', ')} (got ${JSON.stringify(c.backend)}).`);
  }

  // Architecture constraints (the UNet halves the resolution between levels).
  const levels = c.channelMults.length;
  const div = 2 ** (levels - 1);
  if (c.imageSize % div !== 0) {
    throw new TrainConfigError(
      'imageSize',
      `imageSize ${c.imageSize} must be divisible by 2^(levels-1) = ${div} for ${levels} channel multipliers; use fewer multipliers or another size.`,
    );
  }
  const resolutions = Array.from({ length: levels }, (_, i) => c.imageSize / 2 ** i);
  for (const r of c.attentionResolutions) {
    if (!resolutions.includes(r)) {
      throw new TrainConfigError(
        'attentionResolutions',
        `attention at ${r}x${r} never occurs: this UNet works at ${resolutions.join(', ')}. Pick one of those or none.`,
      );
    }
  }
  for (const m of c.channelMults) {
    if ((c.baseChannels * m) % c.groups !== 0 || c.baseChannels % c.groups !== 0) {
      throw new TrainConfigError('groups', `GroupNorm groups (${c.groups}) must divide every channel count (base ${c.baseChannels} x ${c.channelMults.join(',')}).`);
    }
  }
  if (datasetSize !== undefined && c.batchSize > datasetSize) {
    throw new TrainConfigError('batchSize', `batchSize ${c.batchSize} is larger than the dataset (${datasetSize} images); use --batch ${datasetSize} or fewer, or add images.`);
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
