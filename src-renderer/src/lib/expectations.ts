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
  /** the measurements: kernel MMD² of pure noise and of real images against the reference, and of
   *  the EMA samples after each scored step */
  noiseMmd?: number;
  realMmd?: number;
  mmd?: number[];
  /** how each score was taken: samples and reference images, DDIM steps */
  scoring?: string;
}

/** The model the figures were measured with: the Train page's Tiny preset. */
export const MEASURED_MODEL = { preset: 'Tiny', baseChannels: 16, channelMults: [1, 2], resBlocks: 1, batchSize: 8, lr: 1e-3 } as const;

export const EXPECTATIONS: { date: string; backend: string; command: string; sets: MeasuredSet[] } = {
  date: '2026-12-02',
  backend: 'onnxruntime gradients, tfjs wasm optimiser, 2 shared CPU cores',
  command: 'npm run bench -- expectations --set demo; npm run bench -- expectations --set shapes --at 50,100,200,300,400 --n 48 --sampler-steps 8',
  sets: [
    {
      name: 'the bundled demo emoji (models/demo-dataset)',
      images: 128,
      size: 32,
      shapesAt: null,
      detailsAt: null,
      scoredAt: [25, 50, 75, 100, 150, 200, 300, 400],
      measuredTo: 400,
      noiseMmd: 0.632,
      realMmd: 0.006479,
      mmd: [0.6935, 0.6368, 0.5908, 0.5563, 0.5052, 0.474, 0.4031, 0.3327],
      scoring: '64 EMA samples vs 64 of the emoji, DDIM 10 steps',
    },
    {
      name: 'simple shapes (discs, squares, triangles) on white, rendered by the bench',
      images: 256,
      size: 32,
      shapesAt: null,
      detailsAt: null,
      scoredAt: [50, 100, 200, 300, 400],
      measuredTo: 400,
      noiseMmd: 0.69,
      realMmd: -0.01046,
      mmd: [0.6889, 0.6372, 0.5702, 0.4981, 0.4235],
      scoring: '48 EMA samples vs 48 other rendered shapes, DDIM 8 steps',
    },
  ],
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

/**
 * The sentence for the Train page. `done`: steps the run has done (null before a run, with
 * `planned` its length).
 */
export function expectationMessage(set: MeasuredSet | null, o: { done: number | null; planned: number; fineTune?: boolean }): string {
  if (!set) {
    if (o.fineTune) return 'Fine-tuning starts from a model that already makes pictures; we have no measured figures for how fast it adapts to yours.';
    const sizes = [...new Set(EXPECTATIONS.sets.map((s) => s.size))].join(' or ');
    return EXPECTATIONS.sets.length
      ? `We have measured how fast shapes appear only for the ${MEASURED_MODEL.preset} size, from scratch, at ${sizes} px; for these settings watch the preview grids.`
      : 'No measured figures yet for how fast shapes appear; watch the preview grids.';
  }
  const like = `On a set like this (${set.images} images at ${set.size} px)`;
  const head =
    set.shapesAt === null
      ? `${like}, shapes had not yet appeared after ${set.measuredTo} steps when we measured`
      : set.detailsAt === null
        ? `${like}, shapes usually appear after ~${set.shapesAt} steps; details had not yet appeared after ${set.measuredTo} steps when we measured`
        : `${like}, shapes usually appear after ~${set.shapesAt} steps and details after ~${set.detailsAt} steps`;
  const tail = o.done === null ? `this run is set for ${o.planned} steps.` : `this run has done ${o.done}.`;
  return `${head}; ${tail}`;
}
