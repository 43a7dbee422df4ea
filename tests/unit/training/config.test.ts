import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, TrainConfigError } from '../../../src-main/training/config';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TrainConfigError);
    return (e as TrainConfigError).field;
  }
  throw new Error('expected a TrainConfigError');
}

describe('training config', () => {
  it('defaults are valid', () => {
    expect(resolveTrainConfig()).toEqual(DEFAULT_TRAIN_CONFIG);
  });

  it('schedule presets resolve to full specs; JSON specs are validated and kept', () => {
    expect(resolveTrainConfig({ schedule: 'cosine' as never }).schedule).toEqual({ kind: 'discrete', beta: 'cosine', trainSteps: 1000 });
    expect(resolveTrainConfig({ schedule: 'vp' as never, objective: 'v' }).schedule).toEqual({ kind: 'vp', betaMin: 0.1, betaMax: 20 });
    const edm = resolveTrainConfig({ schedule: { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 }, objective: 'edm' });
    expect(edm.schedule.kind).toBe('edm');
  });

  it('names the field of each bad setting, before any compute', () => {
    expect(fieldOf(() => resolveTrainConfig({ channelMults: [] }))).toBe('channelMults');
    expect(fieldOf(() => resolveTrainConfig({ attentionResolutions: [5] }))).toBe('attentionResolutions');
    expect(fieldOf(() => resolveTrainConfig({ imageSize: 20, channelMults: [1, 2, 2, 2] }))).toBe('imageSize');
    expect(fieldOf(() => resolveTrainConfig({ batchSize: 64 }, 10))).toBe('batchSize');
    expect(fieldOf(() => resolveTrainConfig({ lr: 0 }))).toBe('lr');
    expect(fieldOf(() => resolveTrainConfig({ steps: 1.5 }))).toBe('steps');
    expect(fieldOf(() => resolveTrainConfig({ groups: 7 }))).toBe('groups');
    expect(fieldOf(() => resolveTrainConfig({ schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: -1 } }))).toMatch(/^schedule/);
    expect(fieldOf(() => resolveTrainConfig({ schedule: 'warp-drive' as never }))).toBe('schedule');
    expect(fieldOf(() => resolveTrainConfig({ schedule: 'edm' as never }))).toBe('objective');
    expect(fieldOf(() => resolveTrainConfig({ objective: 'edm' }))).toBe('objective');
    expect(fieldOf(() => resolveTrainConfig({ objective: 'score' }))).toBe('objective');
    expect(fieldOf(() => resolveTrainConfig({ schedule: 'edm' as never, objective: 'edm', weighting: 'min-snr' }))).toBe('weighting');
    expect(fieldOf(() => resolveTrainConfig({ weightDecay: 0.01 }))).toBe('weightDecay');
    expect(fieldOf(() => resolveTrainConfig({ baseChannels: 9, groups: 1 }))).toBe('baseChannels');
    expect(fieldOf(() => resolveTrainConfig({ nonsense: 1 } as never))).toBe('nonsense');
  });

  it('error messages say what to do', () => {
    expect(() => resolveTrainConfig({ batchSize: 64 }, 10)).toThrow(/use --batch 10 or fewer/);
    expect(() => resolveTrainConfig({ attentionResolutions: [5] })).toThrow(/works at 32, 16, 8/);
  });
});
