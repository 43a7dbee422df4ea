/**
 * The noise schedules known by name (`--schedule cosine`, the Train form, the Schedules page) and
 * the short label of a schedule (gallery metadata, the Train page). One place for both: the
 * trainer (training/config.ts), the gallery and the renderer import them from here.
 *
 * Sources: linear, DDPM (Ho et al. 2020, §4); scaled-linear, Stable Diffusion (Rombach et al.
 * 2022); cosine, Nichol & Dhariwal 2021 (eq. 17); vp/subvp/ve, Song et al. 2021 (§3.4);
 * edm, Karras et al. 2022 (Table 1).
 */
import type { ScheduleSpec } from '../process';
import type { DiscreteScheduleConfig } from './discrete';

/** The discrete (beta) presets, in the order the UI lists them. */
export const DISCRETE_PRESET_NAMES = ['linear', 'scaled-linear', 'cosine', 'sigmoid'] as const;
export type DiscretePresetName = (typeof DISCRETE_PRESET_NAMES)[number];

export const DISCRETE_SCHEDULE_PRESETS: Record<DiscretePresetName, DiscreteScheduleConfig> = {
  linear: { kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  'scaled-linear': { kind: 'discrete', beta: 'scaled-linear', betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 },
  cosine: { kind: 'discrete', beta: 'cosine', trainSteps: 1000 },
  sigmoid: { kind: 'discrete', beta: 'sigmoid', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
};

/** Preset names accepted by `--schedule NAME` (or give the JSON object). */
export const SCHEDULE_PRESETS: Record<string, ScheduleSpec> = {
  ...DISCRETE_SCHEDULE_PRESETS,
  vp: { kind: 'vp', betaMin: 0.1, betaMax: 20 },
  subvp: { kind: 'subvp', betaMin: 0.1, betaMax: 20 },
  ve: { kind: 've', sigmaMin: 0.01, sigmaMax: 50 },
  edm: { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 },
};

/** A schedule's short label: a preset name as given, a discrete schedule's beta kind, else its kind. */
export function scheduleLabel(s: string | ScheduleSpec): string {
  return typeof s === 'string' ? s : s.kind === 'discrete' ? s.beta : s.kind;
}
