/**
 * Schedule presets and labels in one place (diffusion/schedules/presets.ts): the trainer, the
 * renderer's tuner and the gallery metadata all read the same table, and every preset is a valid
 * schedule the diffusion core can build.
 */
import { describe, expect, it } from 'vitest';
import { makeProcess, validateScheduleSpec } from '../../../src-main/diffusion/index';
import { DISCRETE_PRESET_NAMES, DISCRETE_SCHEDULE_PRESETS, SCHEDULE_PRESETS, scheduleLabel } from '../../../src-main/diffusion/schedules/presets';
import { a1111Parameters } from '../../../src-main/gallery/metadata';
import { resolveSchedule, SCHEDULE_PRESETS as TRAINER_PRESETS } from '../../../src-main/training/config';
import { sampleRecord } from '../gallery/helpers';

describe('schedule presets', () => {
  it('are one table: the trainer reads the same objects (the renderer: tests/unit/renderer/lib/schedule-presets.test.ts)', () => {
    expect(TRAINER_PRESETS).toBe(SCHEDULE_PRESETS);
    for (const n of DISCRETE_PRESET_NAMES) expect(SCHEDULE_PRESETS[n]).toBe(DISCRETE_SCHEDULE_PRESETS[n]);
  });

  it('each validates and builds a process; the trainer resolves each name to a copy', () => {
    for (const [name, spec] of Object.entries(SCHEDULE_PRESETS)) {
      expect(validateScheduleSpec(structuredClone(spec)), name).toEqual(spec);
      expect(() => makeProcess(spec), name).not.toThrow();
      const resolved = resolveSchedule(name);
      expect(resolved).toEqual(spec);
      expect(resolved).not.toBe(spec);
    }
  });
});

describe('scheduleLabel', () => {
  it('is the preset name, a discrete beta kind, or the kind', () => {
    expect(scheduleLabel('cosine')).toBe('cosine');
    expect(scheduleLabel(DISCRETE_SCHEDULE_PRESETS['scaled-linear'])).toBe('scaled-linear');
    expect(scheduleLabel(SCHEDULE_PRESETS.edm)).toBe('edm');
  });

  it('is what the A1111 text calls the Schedule type', () => {
    expect(a1111Parameters(sampleRecord({ schedule: SCHEDULE_PRESETS.vp }))).toContain('Schedule type: vp');
    expect(a1111Parameters(sampleRecord({ schedule: SCHEDULE_PRESETS.cosine }))).toContain('Schedule type: cosine');
  });
});
