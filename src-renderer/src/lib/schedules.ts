/**
 * Schedule maths for the tuner, on top of the diffusion core (pure TypeScript, shared with the
 * trainer): curves of beta(t), alpha-bar(t), log-SNR(t) and the per-timestep loss weight, and the
 * presets the trainer knows by name. No Vue here; pinned by the tuner's e2e checks.
 */
import { lossWeight } from '../../../src-main/diffusion/model-family';
import { DiffusionConfigError, makeProcess, validateLogSnrPoints, validateScheduleSpec, type DiscreteScheduleConfig } from '../../../src-main/diffusion/index';
import type { LossWeighting, Objective, ScheduleJson } from '../../../src-main/api/types';

/** The trainer's own recipes (src-main/diffusion/schedules/presets.ts). */
import type { DiscretePresetName as PresetName } from '../../../src-main/diffusion/schedules/presets';
export { DISCRETE_PRESET_NAMES as PRESET_NAMES, DISCRETE_SCHEDULE_PRESETS as PRESETS, type DiscretePresetName as PresetName } from '../../../src-main/diffusion/schedules/presets';

export const PRESET_BLURBS: Record<PresetName, string> = {
  linear: 'DDPM’s original: betas grow linearly; destroys detail quickly at small sizes.',
  'scaled-linear': 'Stable Diffusion’s: linear in sqrt(beta); gentler at the start.',
  cosine: 'Improved DDPM: alpha-bar follows a cosine; keeps more signal mid-way, good for small images.',
  sigmoid: 'Betas along a sigmoid: slow start and end, fast in the middle.',
};

/** Default control points of a custom curve: roughly the cosine schedule's log-SNR. */
export const DEFAULT_POINTS: [number, number][] = [
  [0, 9],
  [0.25, 3],
  [0.5, 0],
  [0.75, -3.2],
  [1, -10],
];

export interface ScheduleCurves {
  t: Float64Array;
  beta: Float64Array;
  alphaBar: Float64Array;
  logSnr: Float64Array;
  weight: Float64Array;
  T: number;
}

export interface WeightSettings {
  objective: Objective;
  weighting: LossWeighting;
  minSnrGamma: number;
  p2K: number;
  p2Gamma: number;
}

/** Loss weight of one noise level (VP: alpha = sqrt(abar), sigma_t = sqrt(1 - abar)); the trainer's own formula. */
export function lossWeightOf(w: WeightSettings, alphaBar: number): number {
  return lossWeight(w, { alpha: Math.sqrt(alphaBar), sigmaT: Math.sqrt(1 - alphaBar) });
}

/** Curves of a discrete schedule, subsampled to about `points` timesteps for plotting. */
export function scheduleCurves(spec: DiscreteScheduleConfig, weight: WeightSettings, points = 200): ScheduleCurves {
  const p = makeProcess(validateScheduleSpec(spec) as DiscreteScheduleConfig);
  if (p.kind !== 'discrete') throw new Error('the tuner plots discrete schedules');
  const T = p.T;
  const n = Math.min(points, T);
  const t = new Float64Array(n);
  const beta = new Float64Array(n);
  const alphaBar = new Float64Array(n);
  const logSnr = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = Math.round((k * (T - 1)) / (n - 1));
    t[k] = (i + 1) / T;
    beta[k] = p.betas[i];
    alphaBar[k] = p.alphasCumprod[i];
    logSnr[k] = p.logSnr[i];
    w[k] = lossWeightOf(weight, Math.min(p.alphasCumprod[i], 1 - 1e-12));
  }
  return { t, beta, alphaBar, logSnr, weight: w, T };
}

/** alpha-bar at a fraction t in (0, 1] of the way through a schedule (for the noising strip). */
export function alphaBarAt(spec: DiscreteScheduleConfig, frac: number): number {
  const p = makeProcess(spec);
  if (p.kind !== 'discrete') return 0;
  const i = Math.min(p.T - 1, Math.max(0, Math.round(frac * p.T) - 1));
  return p.alphasCumprod[i];
}

/** Check custom points; returns the message to show inline, or null when valid. */
export function explainPoints(points: unknown): string | null {
  try {
    validateLogSnrPoints(points);
    return null;
  } catch (e) {
    return e instanceof DiffusionConfigError ? e.message : String(e);
  }
}

export function explainSpec(spec: unknown): string | null {
  try {
    validateScheduleSpec(spec);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

// ---------------------------------------------------------------- named schedules (the library's)

/** A schedule saved in the library (a `schedule` preset; stores/presets.ts keeps the list). */
export interface NamedSchedule {
  id: string;
  name: string;
  spec: ScheduleJson;
}

/**
 * Where schedules were kept before they moved into the library (this browser's localStorage).
 * Read once on start, imported through `presets:import`, then removed (stores/presets.ts).
 */
export const LEGACY_SCHEDULES_KEY = 'sfumato-schedules';

/** Schedules still in this browser's localStorage (an older Sfumato saved them there), as they were. */
export function legacySchedules(): { name: string; spec: unknown }[] {
  try {
    const raw = JSON.parse(localStorage.getItem(LEGACY_SCHEDULES_KEY) ?? '[]') as { name: unknown; spec: unknown }[];
    return Array.isArray(raw) ? raw.filter((s): s is { name: string; spec: unknown } => !!s && typeof s.name === 'string' && s.name.trim() !== '') : [];
  } catch {
    return [];
  }
}

export function forgetLegacySchedules(): void {
  localStorage.removeItem(LEGACY_SCHEDULES_KEY);
}

/** What the training form offers: the trainer's preset names and the library's saved schedules. */
export function scheduleChoices(named: readonly NamedSchedule[]): { id: string; label: string; value: string | ScheduleJson }[] {
  const presets = (['linear', 'scaled-linear', 'cosine', 'sigmoid', 'vp', 'subvp', 've', 'edm'] as const).map((n) => ({ id: `preset:${n}`, label: n, value: n as string }));
  const saved = named.map((s) => ({ id: `named:${s.name}`, label: `★ ${s.name}`, value: s.spec as ScheduleJson }));
  return [...presets, ...saved];
}
