/**
 * Configuration of Sfumato's DDPM UNet (architecture of ../../shared/bench/torch_ref.py, which
 * follows Ho et al. 2020, "Denoising Diffusion Probabilistic Models", appendix B, at small scale).
 *
 * No tfjs and no Node imports here: the CLI, the store and the renderer may validate configs.
 */
import { DomainError } from '../api/errors';

export type TimeInput = 'discrete' | 'continuous';

export interface UNetConfig {
  /** Side of the square input image in pixels (the top resolution). */
  imageSize: number;
  /** Image channels in and out (3 for RGB). */
  inChannels: number;
  /** Channels of the first level; also the width of the sinusoidal time embedding (must be even). */
  baseChannels: number;
  /** Per-level channel multipliers; level i has baseChannels * channelMults[i] channels and
   *  resolution imageSize / 2^i. */
  channelMults: number[];
  /** Residual blocks per level on the way down (the way up has resBlocks + 1, each taking one skip). */
  resBlocks: number;
  /** Resolutions (in pixels, e.g. 8 for 8x8) at which a single-head self-attention block follows
   *  each residual block, on the way down and up; the middle always has one. */
  attentionResolutions: number[];
  /** GroupNorm groups; every channel count must be divisible by it. */
  groups: number;
  /** Dropout rate inside residual blocks (between the two convolutions), 0 to disable. */
  dropout: number;
  /**
   * What the network's `t` input means. Both are fed unchanged to the same sinusoidal embedding
   * (see unet.ts): 'discrete' = the training timestep 0..T-1; 'continuous' = a real noise-level
   * coordinate c_noise chosen by the parameterisation adapter (e.g. 999·t for VP/sub-VP SDE time
   * t in [0, 1], as Song et al. 2021 score_sde do for their DDPM-style networks).
   */
  timeInput: TimeInput;
  /**
   * Class-conditional networks (Ho & Salimans 2022, classifier-free guidance): the number of real
   * classes K. The network then has a learned table `cemb.weight` of K + 1 rows (the last row is
   * the null class, index K) whose row for each image's label is added to the time embedding.
   * Absent or 0: an unconditional network (no label input).
   */
  numClasses?: number;
  /**
   * Length of the augmentation conditioning vector (training/augment.ts; Karras et al. 2022,
   * appendix F.2), 0 or absent for none. A bias-free linear map of the vector is added to the
   * sinusoidal time embedding; the vector is zero at sampling time, where the term vanishes, so
   * exported and sampled networks need no such input.
   */
  augmentDim?: number;
}

/** Number of real classes of a config (0 = unconditional). */
export function classCountOf(c: Pick<UNetConfig, 'numClasses'>): number {
  return c.numClasses ?? 0;
}

/** The bench network (docs/design-notes.md §The bench UNet; 4,437,699 parameters). */
export const BENCH_UNET_CONFIG: Readonly<UNetConfig> = Object.freeze({
  imageSize: 32,
  inChannels: 3,
  baseChannels: 64,
  channelMults: Object.freeze([1, 2, 2]) as number[],
  resBlocks: 1,
  attentionResolutions: Object.freeze([8]) as number[],
  groups: 8,
  dropout: 0,
  timeInput: 'discrete',
});

/** A config error found before any compute. `field` names the offending key. Survives JSON/IPC. */
export class ModelConfigError extends DomainError {
  readonly apiCode = 'bad_request';
  override apiDetails(): { field: string } {
    return { field: this.field };
  }
  readonly code = 'MODEL_CONFIG';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`model config: ${field}: ${message}`);
    this.name = 'ModelConfigError';
  }
  toJSON(): { code: string; field: string; message: string } {
    return { code: this.code, field: this.field, message: this.message };
  }
}

const KEYS: readonly (keyof UNetConfig)[] = [
  'imageSize',
  'inChannels',
  'baseChannels',
  'channelMults',
  'resBlocks',
  'attentionResolutions',
  'groups',
  'dropout',
  'timeInput',
];
/** Keys that may be absent (absent = the feature is off: older checkpoints, unconditional networks,
 *  networks trained without augmentation labels). */
const OPTIONAL_KEYS: readonly (keyof UNetConfig)[] = ['numClasses', 'augmentDim'];

function positiveInt(c: Record<string, unknown>, field: string): number {
  const v = c[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ModelConfigError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function intList(c: Record<string, unknown>, field: string): number[] {
  const v = c[field];
  if (!Array.isArray(v)) throw new ModelConfigError(field, `must be an array of positive integers, got ${JSON.stringify(v)}`);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) {
      throw new ModelConfigError(field, `entry ${i} must be a positive integer, got ${JSON.stringify(x)}`);
    }
  });
  return v as number[];
}

/** Resolutions that occur in a network: imageSize / 2^i for each level i. */
export function levelResolutions(c: Pick<UNetConfig, 'imageSize' | 'channelMults'>): number[] {
  return c.channelMults.map((_, i) => c.imageSize / 2 ** i);
}

/**
 * Checks every field and throws a ModelConfigError naming the field and the fix; returns the
 * config typed. Call it at the edge (CLI flags, IPC payloads, checkpoint headers) and before
 * allocating a network (the UNet constructor calls it too).
 */
export function validateUNetConfig(config: unknown): UNetConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ModelConfigError('config', 'must be an object with the UNetConfig fields');
  }
  const c = config as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!(KEYS as readonly string[]).includes(k) && !(OPTIONAL_KEYS as readonly string[]).includes(k)) {
      throw new ModelConfigError(k, `unknown field; expected one of ${[...KEYS, ...OPTIONAL_KEYS].join(', ')}`);
    }
  }
  for (const k of KEYS) {
    if (c[k] === undefined) throw new ModelConfigError(k, 'is missing');
  }

  const imageSize = positiveInt(c, 'imageSize');
  positiveInt(c, 'inChannels');
  const base = positiveInt(c, 'baseChannels');
  if (base % 2 !== 0) {
    throw new ModelConfigError('baseChannels', `must be even (it is also the sinusoidal time-embedding width, half sin and half cos), got ${base}`);
  }
  const mults = intList(c, 'channelMults');
  if (mults.length === 0) {
    throw new ModelConfigError('channelMults', 'must list at least one level, e.g. [1, 2, 2]');
  }
  positiveInt(c, 'resBlocks');

  const levels = mults.length;
  const factor = 2 ** (levels - 1);
  if (imageSize % factor !== 0) {
    throw new ModelConfigError(
      'imageSize',
      `${imageSize} is not divisible by 2^(levels-1) = ${factor} for ${levels} levels; use a multiple of ${factor} or fewer channel multipliers`,
    );
  }

  const attn = intList(c, 'attentionResolutions');
  const resolutions = levelResolutions({ imageSize, channelMults: mults });
  const seen = new Set<number>();
  for (const r of attn) {
    if (!resolutions.includes(r)) {
      throw new ModelConfigError(
        'attentionResolutions',
        `resolution ${r} does not occur in this network (its resolutions are ${resolutions.join(', ')}); pick from those`,
      );
    }
    if (seen.has(r)) throw new ModelConfigError('attentionResolutions', `resolution ${r} is listed twice`);
    seen.add(r);
  }

  const groups = positiveInt(c, 'groups');
  const channels = [base, ...mults.map((m) => base * m)];
  for (const ch of channels) {
    if (ch % groups !== 0) {
      throw new ModelConfigError(
        'groups',
        `${ch} channels are not divisible by ${groups} groups; choose groups dividing baseChannels × every multiplier (channel counts ${[...new Set(channels)].join(', ')})`,
      );
    }
  }

  const dropout = c.dropout;
  if (typeof dropout !== 'number' || !Number.isFinite(dropout) || dropout < 0 || dropout >= 1) {
    throw new ModelConfigError('dropout', `must be a number in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  if (c.timeInput !== 'discrete' && c.timeInput !== 'continuous') {
    throw new ModelConfigError('timeInput', `must be 'discrete' or 'continuous', got ${JSON.stringify(c.timeInput)}`);
  }
  if (c.numClasses !== undefined && (typeof c.numClasses !== 'number' || !Number.isInteger(c.numClasses) || c.numClasses < 0 || c.numClasses > 100000)) {
    throw new ModelConfigError('numClasses', `must be an integer between 0 (unconditional) and 100000, got ${JSON.stringify(c.numClasses)}`);
  }
  const aug = c.augmentDim;
  if (aug !== undefined && (typeof aug !== 'number' || !Number.isInteger(aug) || aug < 0 || aug > 64)) {
    throw new ModelConfigError('augmentDim', `must be an integer in [0, 64] (0 = no augmentation conditioning), got ${JSON.stringify(aug)}`);
  }
  return c as unknown as UNetConfig;
}
