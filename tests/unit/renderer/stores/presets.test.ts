/**
 * The presets store (src-renderer/src/stores/presets.ts) against a fake api: the one-time move of
 * localStorage schedules into the library (a schedule the library already has, same name and
 * curve, is not added twice; never-valid entries are dropped; localStorage is emptied), and the
 * form <-> preset body helpers of lib/presets.ts.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { fake } from '../helpers/fake-api';
import { usePresetsStore } from '../../../../src-renderer/src/stores/presets';
import { scheduleChoiceOf, trainFormValues } from '../../../../src-renderer/src/lib/presets';
import type { Preset } from '../../../../src-main/api/presets';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const COSINE = { kind: 'discrete', beta: 'cosine', trainSteps: 1000 } as const;
const LINEAR = { kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 } as const;
const saved = (name: string, body: unknown): Preset => ({ id: `preset_${name}`, kind: 'schedule', name, body, createdAt: 't', updatedAt: 't' }) as Preset;

let library: Preset[];
beforeEach(() => {
  fake.reset();
  localStorage.clear();
  setActivePinia(createPinia());
  library = [saved('soft', COSINE)];
  fake.on('presets:list', () => ({ presets: library }));
  fake.on('presets:import', (req) => {
    const file = req.file as { presets: { name: string; body: unknown }[] };
    const imported = file.presets.map((p) => saved(p.name, p.body));
    library = [...library, ...imported];
    return { imported, renamed: [], skipped: [] };
  });
});

describe('presets store: schedules from localStorage', () => {
  it('moves the new ones into the library once, skips the ones it has and the invalid ones, and empties localStorage', async () => {
    localStorage.setItem(
      'sfumato-schedules',
      JSON.stringify([
        { name: 'soft', spec: COSINE },
        { name: 'straight', spec: LINEAR },
        { name: 'bad', spec: { kind: 'discrete', beta: 'nope' } },
      ]),
    );
    const s = usePresetsStore();
    await Promise.all([s.load(), s.load()]);
    const imports = fake.requests('presets:import');
    expect(imports).toHaveLength(1);
    expect((imports[0].file as { presets: { name: string }[] }).presets.map((p) => p.name)).toEqual(['straight']);
    expect(imports[0].onConflict).toBe('rename');
    expect(localStorage.getItem('sfumato-schedules')).toBeNull();
    expect(s.schedules.map((x) => x.name)).toEqual(['soft', 'straight']);
  });

  it('a same name with another curve is kept (the service renames it), not dropped', async () => {
    localStorage.setItem('sfumato-schedules', JSON.stringify([{ name: 'soft', spec: LINEAR }]));
    await usePresetsStore().load();
    expect((fake.requests('presets:import')[0].file as { presets: { name: string; body: unknown }[] }).presets).toEqual([{ kind: 'schedule', name: 'soft', body: LINEAR }]);
  });

  it('nothing in localStorage: no import', async () => {
    await usePresetsStore().load();
    expect(fake.requests('presets:import')).toEqual([]);
  });
});

describe('training preset -> Train form', () => {
  it('lists become the form text, the schedule its choice, and the size preset "custom"', () => {
    const v = trainFormValues({ channelMults: [1, 2, 2], attentionResolutions: [], lr: 5e-4, hflip: false }, 'named:soft');
    expect(v).toEqual({ preset: 'custom', channelMults: '1,2,2', attention: 'none', lr: 5e-4, hflip: false, schedule: 'named:soft' });
    expect(trainFormValues({ attentionResolutions: [8, 4] }, null)).toEqual({ preset: 'custom', attention: '8,4' });
  });

  it('a schedule is found by name or by the same curve among the saved ones', () => {
    const named = [{ id: 'p1', name: 'soft', spec: COSINE }];
    expect(scheduleChoiceOf('cosine', named)).toBe('preset:cosine');
    expect(scheduleChoiceOf({ ...COSINE }, named)).toBe('named:soft');
    expect(scheduleChoiceOf(LINEAR, named)).toBeNull();
    expect(scheduleChoiceOf(undefined, named)).toBeNull();
  });
});
