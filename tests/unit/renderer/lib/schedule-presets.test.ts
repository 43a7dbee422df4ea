/** The tuner's schedule presets are the trainer's table (diffusion/schedules/presets.ts), not a copy. */
import { describe, expect, it } from 'vitest';
import { DISCRETE_PRESET_NAMES, DISCRETE_SCHEDULE_PRESETS, SCHEDULE_PRESETS } from '../../../../src-main/diffusion/schedules/presets';
import { PRESET_NAMES, PRESETS } from '../../../../src-renderer/src/lib/schedules';

describe('renderer schedule presets', () => {
  it('are the same objects the trainer resolves', () => {
    expect(PRESETS).toBe(DISCRETE_SCHEDULE_PRESETS);
    expect(PRESET_NAMES).toBe(DISCRETE_PRESET_NAMES);
    for (const n of PRESET_NAMES) expect(PRESETS[n]).toBe(SCHEDULE_PRESETS[n]);
  });
});
