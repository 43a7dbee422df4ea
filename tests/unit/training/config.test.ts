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

  it('names the field of each bad setting, before any compute', () => {
    expect(fieldOf(() => resolveTrainConfig({ channelMults: [] }))).toBe('channelMults');
    expect(fieldOf(() => resolveTrainConfig({ attentionResolutions: [5] }))).toBe('attentionResolutions');
    expect(fieldOf(() => resolveTrainConfig({ imageSize: 20, channelMults: [1, 2, 2, 2] }))).toBe('imageSize');
    expect(fieldOf(() => resolveTrainConfig({ batchSize: 64 }, 10))).toBe('batchSize');
    expect(fieldOf(() => resolveTrainConfig({ lr: 0 }))).toBe('lr');
    expect(fieldOf(() => resolveTrainConfig({ steps: 1.5 }))).toBe('steps');
    expect(fieldOf(() => resolveTrainConfig({ groups: 7 }))).toBe('groups');
    expect(fieldOf(() => resolveTrainConfig({ betaStart: 0.02, betaEnd: 0.01 }))).toBe('betaEnd');
    expect(fieldOf(() => resolveTrainConfig({ nonsense: 1 } as never))).toBe('nonsense');
  });

  it('error messages say what to do', () => {
    expect(() => resolveTrainConfig({ batchSize: 64 }, 10)).toThrow(/use --batch 10 or fewer/);
    expect(() => resolveTrainConfig({ attentionResolutions: [5] })).toThrow(/works at 32, 16, 8/);
  });
});
