/**
 * Training-run configuration: defaults, and validation at the edge (before any compute), with
 * errors that name the field and the fix.
 */
import type { LossWeighting, Objective, OrtProviderChoice, ScheduleJson, TrainBackend, TrainConfig } from '../api/types';
import { SCHEDULE_PRESETS } from '../diffusion/schedules/presets';
import { DiffusionConfigError, validateScheduleSpec } from '../diffusion/index';
import { DomainError } from '../api/errors';
import { adapterParamCount, LoraConfigError, loraAdapterSpecs, validateLoraConfig } from '../network/lora';
import { paramCountOf } from '../network/architecture';
import type { UNetConfig } from '../network/config';
import { AUGMENT_DIM } from './augment';

/** Settings that may be absent (unconditional runs, runs written before they existed). */
export const OPTIONAL_TRAIN_KEYS = ['classConditional', 'condDropout', 'classes'] as const;
/** Label dropout of class-conditional runs when none is given (Ho & Salimans 2022 use 0.1–0.2). */
export const DEFAULT_COND_DROPOUT = 0.1;

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  imageSize: 32,
  baseChannels: 32,
  channelMults: [1, 2, 2],
  resBlocks: 1,
  attentionResolutions: [8],
  groups: 8,
  dropout: 0,
  batchSize: 16,
  gradAccum: 1,
  optimizer: 'adam',
  lr: 2e-4,
  weightDecay: 0,
  warmupSteps: 0,
  lrSchedule: 'constant',
  minLr: 0,
  gradClip: 1,
  ema: 0.999,
  emaWarmup: true,
  schedule: { kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  objective: 'eps',
  weighting: 'uniform',
  minSnrGamma: 5,
  p2K: 1,
  p2Gamma: 1,
  hflip: true,
  augment: 0,
  steps: 1000,
  checkpointEvery: 500,
  keepCheckpoints: 3,
  previewEvery: 0,
  backend: 'auto',
  provider: 'auto',
  workers: 0,
};

// The fine-tune defaults are plain data the Train form reads too, so they live in the contract.
export { FINE_TUNE_DEFAULTS, FINE_TUNE_LR, FINE_TUNE_MAX_SAFE_LR } from '../api/fine-tune';

// The schedule presets live with the schedules (the renderer and the gallery read them too).
export { SCHEDULE_PRESETS };

export class TrainConfigError extends DomainError {
  readonly apiCode = 'bad_request';
  override apiDetails(): { field: string } {
    return { field: this.field };
  }
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrainConfigError';
  }
}

const BACKENDS: readonly TrainBackend[] = ['auto', 'tensorflow', 'webgpu', 'onnxruntime', 'wasm', 'cpu'];
const PROVIDERS: readonly OrtProviderChoice[] = ['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu'];
const OBJECTIVES: readonly Objective[] = ['eps', 'x0', 'v', 'score', 'edm'];
const WEIGHTINGS: readonly LossWeighting[] = ['uniform', 'min-snr', 'p2'];

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TrainConfigError(field, `${field} must be an integer between ${min} and ${max} (got ${JSON.stringify(v)}).`);
  }
  return v;
}

function num(field: string, v: unknown, min: number, max: number, openMin = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v > max || (openMin ? v <= min : v < min)) {
    throw new TrainConfigError(field, `${field} must be a number ${openMin ? '>' : '≥'} ${min} and ≤ ${max} (got ${JSON.stringify(v)}).`);
  }
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, options: readonly T[]): T {
  if (!options.includes(v as T)) throw new TrainConfigError(field, `${field} must be one of ${options.join(', ')} (got ${JSON.stringify(v)}).`);
  return v as T;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TrainConfigError(field, `${field} must be true or false (got ${JSON.stringify(v)}).`);
  return v;
}

/** A schedule preset name or JSON object -> validated schedule spec. */
export function resolveSchedule(v: unknown): ScheduleJson {
  if (typeof v === 'string') {
    const preset = SCHEDULE_PRESETS[v];
    if (!preset) {
      throw new TrainConfigError('schedule', `Unknown schedule "${v}". Use one of ${Object.keys(SCHEDULE_PRESETS).join(', ')}, or a JSON object like {"kind":"discrete","beta":"cosine","trainSteps":1000}.`);
    }
    return structuredClone(preset);
  }
  try {
    return validateScheduleSpec(v, 'schedule');
  } catch (e) {
    if (e instanceof DiffusionConfigError) throw new TrainConfigError(e.field, e.message);
    throw e;
  }
}

/** Merge overrides onto the defaults and validate everything; `datasetSize` checks the batch. */
export function resolveTrainConfig(overrides: Partial<TrainConfig> | Record<string, unknown> = {}, datasetSize?: number): TrainConfig {
  // `lora` is optional too (absent from the defaults: a run without it trains every weight)
  const known = new Set([...Object.keys(DEFAULT_TRAIN_CONFIG), ...OPTIONAL_TRAIN_KEYS, 'lora']);
  for (const k of Object.keys(overrides)) {
    if (!known.has(k)) throw new TrainConfigError(k, `Unknown training setting "${k}". Known settings: ${[...known].join(', ')}.`);
  }
  const c = { ...DEFAULT_TRAIN_CONFIG, ...stripUndefined(overrides as Partial<TrainConfig>) } as TrainConfig;
  int('imageSize', c.imageSize, 4, 256);
  int('baseChannels', c.baseChannels, 2, 1024);
  if (c.baseChannels % 2 !== 0) throw new TrainConfigError('baseChannels', 'baseChannels must be even (it is also the width of the sinusoidal time embedding).');
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
  int('gradAccum', c.gradAccum, 1, 1024);
  oneOf('optimizer', c.optimizer, ['adam', 'adamw'] as const);
  num('lr', c.lr, 0, 1, true);
  num('weightDecay', c.weightDecay, 0, 1);
  if (c.weightDecay > 0 && c.optimizer !== 'adamw') {
    throw new TrainConfigError('weightDecay', 'weightDecay needs optimizer "adamw" (decoupled weight decay); set --optimizer adamw or weightDecay 0.');
  }
  int('warmupSteps', c.warmupSteps, 0, 10_000_000);
  oneOf('lrSchedule', c.lrSchedule, ['constant', 'cosine'] as const);
  num('minLr', c.minLr, 0, 1);
  if (c.minLr > c.lr) throw new TrainConfigError('minLr', `minLr (${c.minLr}) must not exceed lr (${c.lr}).`);
  num('gradClip', c.gradClip, 0, 1e6);
  num('ema', c.ema, 0, 0.999999);
  bool('emaWarmup', c.emaWarmup);
  c.schedule = resolveSchedule(c.schedule);
  oneOf('objective', c.objective, OBJECTIVES);
  oneOf('weighting', c.weighting, WEIGHTINGS);
  num('minSnrGamma', c.minSnrGamma, 0, 1e6, true);
  num('p2K', c.p2K, 0, 1e6, true);
  num('p2Gamma', c.p2Gamma, 0, 100);
  if ((c.schedule.kind === 'edm') !== (c.objective === 'edm')) {
    throw new TrainConfigError(
      'objective',
      c.objective === 'edm'
        ? 'objective "edm" (EDM preconditioning) needs schedule "edm"; use --schedule edm or another objective.'
        : `schedule "edm" trains with EDM preconditioning: use --objective edm (got "${c.objective}").`,
    );
  }
  if (c.objective === 'score' && c.schedule.kind === 'discrete') {
    throw new TrainConfigError('objective', 'objective "score" (denoising score matching) is for continuous SDEs: use --schedule vp, subvp or ve, or objective eps.');
  }
  if (c.objective === 'edm' && c.weighting !== 'uniform') {
    throw new TrainConfigError('weighting', 'EDM already weights its loss by lambda(sigma) (Karras et al. 2022, eq. 8); use weighting "uniform".');
  }
  bool('hflip', c.hflip);
  num('augment', c.augment, 0, 1);
  int('steps', c.steps, 1, 10_000_000);
  int('checkpointEvery', c.checkpointEvery, 1, 10_000_000);
  int('keepCheckpoints', c.keepCheckpoints, 0, 100_000);
  int('previewEvery', c.previewEvery, 0, 10_000_000);
  oneOf('backend', c.backend, BACKENDS);
  oneOf('provider', c.provider, PROVIDERS);
  if (c.provider !== 'auto' && c.backend !== 'auto' && c.backend !== 'onnxruntime') {
    throw new TrainConfigError('provider', `provider ${c.provider} is an ONNX Runtime provider, but backend is ${c.backend}: use backend onnxruntime (or auto), or provider auto.`);
  }
  int('workers', c.workers, 0, 64);
  if (c.classConditional !== undefined) bool('classConditional', c.classConditional);
  if (c.condDropout !== undefined) {
    if (typeof c.condDropout !== 'number' || !Number.isFinite(c.condDropout) || c.condDropout < 0 || c.condDropout >= 1) {
      throw new TrainConfigError('condDropout', `condDropout (--cond-dropout) must be a number in [0, 1): the share of labels replaced by the null class, e.g. 0.1 (got ${JSON.stringify(c.condDropout)}).`);
    }
    if (!c.classConditional) throw new TrainConfigError('condDropout', 'condDropout (--cond-dropout) only applies to class-conditional runs; add --class-conditional or leave it out.');
  }
  if (c.classes !== undefined) {
    if (!Array.isArray(c.classes) || c.classes.some((n) => typeof n !== 'string' || n.length === 0) || new Set(c.classes).size !== c.classes.length) {
      throw new TrainConfigError('classes', 'classes must be a list of distinct class names (they come from the dataset\'s labels).');
    }
    if (!c.classConditional) throw new TrainConfigError('classes', 'classes only apply to class-conditional runs (--class-conditional).');
  }
  if (c.classConditional && c.condDropout === undefined) c.condDropout = DEFAULT_COND_DROPOUT;
  if (c.lora === undefined || c.lora === null) delete c.lora;
  else {
    try {
      c.lora = validateLoraConfig(c.lora);
    } catch (e) {
      if (e instanceof LoraConfigError) throw new TrainConfigError(`lora.${e.field}`, e.message);
      throw e;
    }
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
      throw new TrainConfigError('attentionResolutions', `attention at ${r}x${r} never occurs: this UNet works at ${resolutions.join(', ')}. Pick one of those or none.`);
    }
  }
  for (const m of c.channelMults) {
    if ((c.baseChannels * m) % c.groups !== 0 || c.baseChannels % c.groups !== 0) {
      throw new TrainConfigError('groups', `GroupNorm groups (${c.groups}) must divide every channel count (base ${c.baseChannels} x ${c.channelMults.join(',')}).`);
    }
  }
  if (c.lora) {
    // rank ≤ min(in, out) of every adapted module, checked here so a bad rank fails before any compute
    try {
      loraAdapterSpecs(unetConfigOf(c), c.lora);
    } catch (e) {
      if (e instanceof LoraConfigError) throw new TrainConfigError(`lora.${e.field}`, e.message);
      throw e;
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

/** The UNet config of a training config (RGB in and out). */
export function unetConfigOf(c: TrainConfig): UNetConfig {
  return {
    imageSize: c.imageSize,
    inChannels: 3,
    baseChannels: c.baseChannels,
    channelMults: c.channelMults.slice(),
    resBlocks: c.resBlocks,
    attentionResolutions: c.attentionResolutions.slice(),
    groups: c.groups,
    dropout: c.dropout,
    timeInput: c.schedule.kind === 'discrete' ? 'discrete' : 'continuous',
    // unconditional configs keep their old shape (no numClasses key), so their checkpoints and
    // exports are byte-identical to before class conditioning existed
    ...(c.classConditional ? { numClasses: (c.classes ?? []).length } : {}),
    // the augmentation-label input exists only in runs that augment (older configs stay as they were)
    ...((c.augment ?? 0) > 0 ? { augmentDim: AUGMENT_DIM } : {}),
  };
}

/** trainableParams / totalParams of a run (`runs show`): LoRA trains only its adapters. */
export function runParamCounts(c: TrainConfig): { trainableParams: number; totalParams: number } {
  const base = paramCountOf(unetConfigOf(c));
  if (!c.lora) return { trainableParams: base, totalParams: base };
  const adapters = adapterParamCount(loraAdapterSpecs(unetConfigOf(c), c.lora));
  return { trainableParams: adapters, totalParams: base + adapters };
}
