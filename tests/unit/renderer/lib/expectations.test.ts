/**
 * "What to expect" on the Train page (src-renderer/src/lib/expectations.ts): the sentence uses
 * measured figures only, picks the measured set nearest the user's, and says "not measured"
 * for runs the figures do not cover. The figures themselves are checked for consistency with the
 * bench that produced them and with the Tiny preset they were measured on.
 */
import { describe, expect, it, vi } from 'vitest';
import { EXPECTATIONS, MEASURED_MODEL, expectationFor, expectationMessage, type MeasuredSet } from '../../../../src-renderer/src/lib/expectations';
import { TRAIN_PRESETS } from '../../../../src-renderer/src/stores/runs';
import { TINY_PRESET_CONFIG } from '../../../../src-main/training/quality/expectations';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const emoji: MeasuredSet = { name: 'emoji', images: 128, size: 32, shapesAt: 150, detailsAt: 300, scoredAt: [50, 150, 300, 400], measuredTo: 400 };
const shapes: MeasuredSet = { name: 'shapes', images: 256, size: 32, shapesAt: 50, detailsAt: null, scoredAt: [50, 150, 300, 400], measuredTo: 400 };
const tiny = { imageSize: 32, baseChannels: 16, channelMults: [1, 2], resBlocks: 1, batchSize: 8, lr: 1e-3, fineTune: false };

describe('expectationFor', () => {
  it('picks the measured set nearest in image count, at the same size', () => {
    expect(expectationFor(tiny, 100, [emoji, shapes])).toBe(emoji);
    expect(expectationFor(tiny, 400, [emoji, shapes])).toBe(shapes);
    expect(expectationFor({ ...tiny, imageSize: 64 }, 100, [emoji, shapes])).toBeNull();
  });

  it('gives nothing for other model settings or a fine-tune', () => {
    expect(expectationFor({ ...tiny, baseChannels: 32 }, 128, [emoji])).toBeNull();
    expect(expectationFor({ ...tiny, lr: 2e-4 }, 128, [emoji])).toBeNull();
    expect(expectationFor({ ...tiny, fineTune: true }, 128, [emoji])).toBeNull();
  });
});

describe('expectationMessage', () => {
  it('says plainly when shapes and details appear and how far this run is', () => {
    expect(expectationMessage(emoji, { done: 120, planned: 300 })).toBe(
      'On a set like this (128 images at 32 px), shapes usually appear after ~150 steps and details after ~300 steps; this run has done 120.',
    );
    expect(expectationMessage(emoji, { done: null, planned: 300 })).toBe(
      'On a set like this (128 images at 32 px), shapes usually appear after ~150 steps and details after ~300 steps; this run is set for 300 steps.',
    );
  });

  it('never invents a figure that was not measured', () => {
    const m = expectationMessage(shapes, { done: 10, planned: 300 });
    expect(m).toBe('On a set like this (256 images at 32 px), shapes usually appear after ~50 steps; details had not yet appeared after 400 steps when we measured; this run has done 10.');
    const numbers = (m.match(/\d+/g) ?? []).map(Number);
    for (const n of numbers) expect([256, 32, 50, 400, 10]).toContain(n);
    expect(expectationMessage({ ...emoji, shapesAt: null, detailsAt: null }, { done: 7, planned: 300 })).toBe(
      'On a set like this (128 images at 32 px), shapes had not yet appeared after 400 steps when we measured; this run has done 7.',
    );
  });

  it('says so when the settings were not measured', () => {
    expect(expectationMessage(null, { done: null, planned: 3000 })).not.toMatch(/after ~\d/);
    expect(expectationMessage(null, { done: 5, planned: 300, fineTune: true })).toMatch(/Fine-tuning/);
  });
});

describe('the measured figures', () => {
  it('were measured on the Train page’s Tiny preset', () => {
    const v = TRAIN_PRESETS.tiny.values;
    expect(TRAIN_PRESETS.tiny.attentionDiv).toBeNull();
    expect({ baseChannels: v.baseChannels, channelMults: v.channelMults, resBlocks: v.resBlocks, batchSize: v.batchSize, lr: v.lr }).toEqual({
      baseChannels: MEASURED_MODEL.baseChannels,
      channelMults: MEASURED_MODEL.channelMults.join(','),
      resBlocks: MEASURED_MODEL.resBlocks,
      batchSize: MEASURED_MODEL.batchSize,
      lr: MEASURED_MODEL.lr,
    });
    const { preset: _name, ...model } = MEASURED_MODEL;
    expect(TINY_PRESET_CONFIG).toEqual({ ...model, channelMults: [1, 2], ema: v.ema, groups: v.groups, attentionResolutions: [] });
  });

  it('name a date, a command and only steps that were scored', () => {
    expect(EXPECTATIONS.sets.length).toBeGreaterThanOrEqual(2);
    expect(EXPECTATIONS.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(EXPECTATIONS.command).toContain('bench -- expectations');
    for (const s of EXPECTATIONS.sets) {
      for (const at of [s.shapesAt, s.detailsAt]) if (at !== null) expect(s.scoredAt).toContain(at);
      if (s.shapesAt !== null && s.detailsAt !== null) expect(s.detailsAt).toBeGreaterThanOrEqual(s.shapesAt);
      expect(s.measuredTo).toBe(Math.max(...s.scoredAt));
    }
  });
});
