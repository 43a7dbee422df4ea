/**
 * "What to expect" on the Train page: after how many steps a small model's samples show shapes
 * and details, from measured figures only. The figures come from
 * `npm run bench -- expectations --set demo|shapes` (src-main/training/quality/expectations.ts
 * states the criterion); nothing here is extrapolated, and a run the figures do not cover gets a
 * plain "not measured" instead of a guess.
 */

/** One measured set: the Tiny preset trained from scratch on it. */
export interface MeasuredSet {
  /** what the set was, in words */
  name: string;
  images: number;
  size: number;
  /** first scored step with shapes (halfway from noise to real); null: not within `measuredTo` */
  shapesAt: number | null;
  /** first scored step with details (90% of the way); null: not within `measuredTo` */
  detailsAt: number | null;
  /** the steps after which samples were scored */
  scoredAt: number[];
  measuredTo: number;
}

/** The model the figures were measured with: the Train page's Tiny preset. */
export const MEASURED_MODEL = { preset: 'Tiny', baseChannels: 16, channelMults: [1, 2], resBlocks: 1, batchSize: 8, lr: 1e-3 } as const;

export const EXPECTATIONS: { date: string; backend: string; command: string; sets: MeasuredSet[] } = {
  date: 'PENDING',
  backend: 'PENDING',
  command: 'npm run bench -- expectations --set demo; npm run bench -- expectations --set shapes',
  sets: [],
};

/** The model settings the figures depend on (a run's config, or the form's). */
export interface ModelShape {
  imageSize: number;
  baseChannels: number;
  channelMults: readonly number[];
  resBlocks: number;
  batchSize: number;
  lr: number;
  /** fine-tuning starts from a trained model: the from-scratch figures do not apply */
  fineTune: boolean;
}

/** The measured set nearest in image count to `images`, if the run is like the measured ones. */
export function expectationFor(m: ModelShape, images: number | null, sets: readonly MeasuredSet[] = EXPECTATIONS.sets): MeasuredSet | null {
  const same =
    !m.fineTune &&
    m.baseChannels === MEASURED_MODEL.baseChannels &&
    m.channelMults.join(',') === MEASURED_MODEL.channelMults.join(',') &&
    m.resBlocks === MEASURED_MODEL.resBlocks &&
    m.batchSize === MEASURED_MODEL.batchSize &&
    m.lr === MEASURED_MODEL.lr;
  if (!same) return null;
  const candidates = sets.filter((s) => s.size === m.imageSize);
  if (!candidates.length) return null;
  const n = images && images > 0 ? images : candidates[0].images;
  return candidates.reduce((best, s) => (Math.abs(Math.log(s.images / n)) < Math.abs(Math.log(best.images / n)) ? s : best));
}

const when = (at: number | null, to: number, what: string): string => (at === null ? `${what} had not appeared by step ${to} when we measured` : `${what} usually appear after ~${at} steps`);

/**
 * The sentence for the Train page. `done`: steps the run has done (null before a run, with
 * `planned` its length).
 */
export function expectationMessage(set: MeasuredSet | null, o: { done: number | null; planned: number; fineTune?: boolean }): string {
  if (!set) {
    if (o.fineTune) return 'Fine-tuning starts from a trained model, so shapes are there from the first step; we have no measured figures for how fast it adapts.';
    const sizes = [...new Set(EXPECTATIONS.sets.map((s) => s.size))].join(' or ');
    return EXPECTATIONS.sets.length
      ? `We have measured how fast shapes appear only for the ${MEASURED_MODEL.preset} size, from scratch, at ${sizes} px; for these settings watch the preview grids.`
      : 'No measured figures yet for how fast shapes appear; watch the preview grids.';
  }
  const head = `On a set like this (${set.images} images at ${set.size} px), ${when(set.shapesAt, set.measuredTo, 'shapes')} and ${when(set.detailsAt, set.measuredTo, 'details').replace(/^details usually appear/, 'details')}`;
  const tail = o.done === null ? `this run is set for ${o.planned} steps.` : `this run has done ${o.done}.`;
  return `${head}; ${tail}`;
}
