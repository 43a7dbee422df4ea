/**
 * Between the Train and Sample forms and the library's presets: what a form saves as a preset's
 * body and how a body fills the form back. No Vue here; the service checks every body.
 */
import type { SamplingPresetBody } from '../../../src-main/api/presets';
import type { ScheduleJson, TrainConfig } from '../../../src-main/api/types';
import type { SampleForm } from '../stores/sample';
import type { TrainForm } from '../stores/runs';
import { SAMPLER_INFO } from './samplers';
import type { NamedSchedule } from './schedules';

/** The sampler, its steps and settings and the image count of the Sample form. */
export function samplingBodyOf(form: SampleForm): SamplingPresetBody {
  const options: Record<string, unknown> = {};
  for (const k of SAMPLER_INFO[form.sampler].options) options[k] = form.options[k];
  return { sampler: form.sampler, ...(SAMPLER_INFO[form.sampler].steps ? { steps: form.steps } : {}), count: form.count, options };
}

/** Fills the Sample form from a sampling preset: only the fields it holds (the model and seed stay). */
export function applySamplingBody(form: SampleForm, body: SamplingPresetBody): void {
  if (body.sampler) form.sampler = body.sampler;
  if (body.steps !== undefined) form.steps = body.steps;
  if (body.count !== undefined) form.count = body.count;
  if (body.seed !== undefined) form.seed = body.seed;
  if (body.options) Object.assign(form.options, body.options);
}

/** The Train form's schedule choice for a spec: a trainer preset name, or the saved schedule with the same curve. */
export function scheduleChoiceOf(schedule: string | ScheduleJson | undefined, named: readonly NamedSchedule[]): string | null {
  if (schedule === undefined) return null;
  if (typeof schedule === 'string') return `preset:${schedule}`;
  const key = JSON.stringify(schedule);
  const hit = named.find((n) => JSON.stringify(n.spec) === key);
  return hit ? `named:${hit.name}` : null;
}

const SAME_NAME: readonly (keyof TrainConfig & keyof TrainForm)[] = [
  'steps',
  'batchSize',
  'gradAccum',
  'baseChannels',
  'resBlocks',
  'groups',
  'dropout',
  'optimizer',
  'lr',
  'weightDecay',
  'warmupSteps',
  'lrSchedule',
  'minLr',
  'gradClip',
  'ema',
  'objective',
  'weighting',
  'minSnrGamma',
  'hflip',
  'augment',
  'checkpointEvery',
  'keepCheckpoints',
  'previewEvery',
  'backend',
  'workers',
];

/**
 * The Train form's values for a training preset (the fields it holds; the dataset, the starting
 * model and the seed stay). `scheduleId` is the form's choice for the preset's schedule.
 */
export function trainFormValues(config: Partial<TrainConfig>, scheduleId: string | null): Partial<TrainForm> {
  const v: Record<string, unknown> = { preset: 'custom' };
  for (const k of SAME_NAME) if (config[k] !== undefined) v[k] = config[k];
  if (config.channelMults) v.channelMults = config.channelMults.join(',');
  if (config.attentionResolutions) v.attention = config.attentionResolutions.length ? config.attentionResolutions.join(',') : 'none';
  if (scheduleId) v.schedule = scheduleId;
  return v as Partial<TrainForm>;
}
