/**
 * PresetService on a real library (SQLite file): saved schedules and sampling / training presets,
 * validated with the rules their users apply, renamed, deleted, exported and imported; reopening
 * the library finds them (they are not in any one window's memory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src-main/api/errors';
import { PRESET_FILE_FORMAT } from '../../../src-main/api/presets';
import { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService } from '../../helpers/fake-jobs';

let s: Sfumato;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ s, close } = await fakeService());
});
afterAll(() => close());

const SOFT = { kind: 'discrete', beta: 'custom', trainSteps: 500, logSnrPoints: [[0, 8], [0.5, 0], [1, -9]] };

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe('PresetService', () => {
  it('saves a custom schedule, lists it, and a second save of the same name replaces it (same id)', async () => {
    const a = await s.api['presets:save']({ kind: 'schedule', name: 'soft-start', body: SOFT });
    expect(a.replaced).toBe(false);
    expect(a.preset).toMatchObject({ kind: 'schedule', name: 'soft-start', body: { kind: 'discrete', beta: 'custom', trainSteps: 500 } });
    expect(a.preset.id).toMatch(/^preset_/);
    const b = await s.api['presets:save']({ kind: 'schedule', name: 'soft-start', body: { ...SOFT, trainSteps: 800 } });
    expect(b).toMatchObject({ replaced: true, preset: { id: a.preset.id, body: { trainSteps: 800 } } });
    const { presets } = await s.api['presets:list']({ kind: 'schedule' });
    expect(presets.map((p) => p.name)).toEqual(['soft-start']);
  });

  it('refuses a schedule the trainer would refuse, naming the field (the same validation, not a copy)', async () => {
    const e = await refusal(s.api['presets:save']({ kind: 'schedule', name: 'bad', body: { ...SOFT, logSnrPoints: [[0, 1], [1, 5]] } }));
    expect(e.code).toBe('bad_request');
    expect(e.message).toMatch(/body\.logSnrPoints/);
    const e2 = await refusal(s.api['presets:save']({ kind: 'schedule', name: 'bad', body: { kind: 'discrete', beta: 'wobbly' } }));
    expect(e2.message).toMatch(/body\.beta must be one of/);
    expect((await s.api['presets:list']({ kind: 'schedule' })).presets.map((p) => p.name)).toEqual(['soft-start']);
  });

  it('checks a training preset with the trainer config rules and a sampling preset with the sample request schema', async () => {
    const e = await refusal(s.api['presets:save']({ kind: 'training', name: 't', body: { lr: -1 } }));
    expect(e.message).toMatch(/^body\.lr: /);
    const e2 = await refusal(s.api['presets:save']({ kind: 'training', name: 't', body: { schedule: 'wobbly' } }));
    expect(e2.message).toMatch(/body\.schedule/);
    const ok = await s.api['presets:save']({ kind: 'training', name: 'tiny', body: { baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], schedule: SOFT } });
    expect(ok.preset.body).toEqual({ baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], schedule: SOFT });
    // the trainer's cross-field rules too: attention at a resolution this UNet never has
    const e6 = await refusal(s.api['presets:save']({ kind: 'training', name: 't', body: { channelMults: [1, 2], attentionResolutions: [8] } }));
    expect(e6.message).toMatch(/^body\.attentionResolutions: /);

    const e3 = await refusal(s.api['presets:save']({ kind: 'sampling', name: 'x', body: { sampler: 'nope' } }));
    expect(e3.message).toMatch(/^body\.sampler: /);
    const e4 = await refusal(s.api['presets:save']({ kind: 'sampling', name: 'x', body: { steps: 20, bogus: 1 } }));
    expect(e4.message).toMatch(/body/);
    const e5 = await refusal(s.api['presets:save']({ kind: 'sampling', name: 'x', body: { count: 0 } }));
    expect(e5.message).toMatch(/^body\.count: /);
    const sp = await s.api['presets:save']({ kind: 'sampling', name: 'fast', body: { sampler: 'dpmpp-2m', steps: 12, count: 4 } });
    expect(sp.preset.body).toEqual({ sampler: 'dpmpp-2m', steps: 12, count: 4 });
  });

  it('refuses a bad name or kind in the request itself', async () => {
    const e = await refusal(s.api['presets:save']({ kind: 'schedule', name: '   ', body: SOFT }));
    expect(e.message).toMatch(/name/);
    const e2 = await refusal(s.api['presets:save']({ kind: 'colour' as never, name: 'x', body: SOFT }));
    expect(e2.message).toMatch(/kind/);
  });

  it('renames (a taken name is a conflict that names it) and deletes', async () => {
    const a = (await s.api['presets:save']({ kind: 'schedule', name: 'other', body: SOFT })).preset;
    const e = await refusal(s.api['presets:rename']({ id: a.id, name: 'soft-start' }));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/"soft-start"/);
    // the same name in another kind is no conflict
    expect((await s.api['presets:rename']({ id: a.id, name: 'fast' })).preset.name).toBe('fast');
    expect((await s.api['presets:delete']({ id: a.id })).deleted).toBe(true);
    expect((await s.api['presets:delete']({ id: a.id })).deleted).toBe(false);
    expect((await refusal(s.api['presets:rename']({ id: a.id, name: 'y' }))).code).toBe('not_found');
  });

  it('exports one kind or everything, and an import into the same library renames clashes instead of overwriting', async () => {
    const { file } = await s.api['presets:export']({});
    expect(file).toMatchObject({ format: PRESET_FILE_FORMAT, version: 1 });
    expect(file.presets.map((p) => `${p.kind}:${p.name}`).sort()).toEqual(['sampling:fast', 'schedule:soft-start', 'training:tiny']);
    const only = (await s.api['presets:export']({ kind: 'sampling' })).file;
    expect(only.presets.map((p) => p.name)).toEqual(['fast']);

    const r = await s.api['presets:import']({ file: JSON.parse(JSON.stringify(only)) });
    expect(r.renamed).toEqual([{ from: 'fast', to: 'fast (2)', kind: 'sampling' }]);
    const skip = await s.api['presets:import']({ file: only, onConflict: 'skip' });
    expect(skip).toMatchObject({ imported: [], skipped: [{ name: 'fast', kind: 'sampling' }] });
    const rep = await s.api['presets:import']({ file: { ...only, presets: [{ ...only.presets[0], body: { sampler: 'euler', steps: 30 } }] }, onConflict: 'replace' });
    expect(rep.imported[0]).toMatchObject({ name: 'fast', body: { sampler: 'euler', steps: 30 } });
    expect((await s.api['presets:list']({ kind: 'sampling' })).presets.map((p) => p.name)).toEqual(['fast', 'fast (2)']);
  });

  it('refuses a bad file as a whole, naming the preset and the field; nothing is imported', async () => {
    const before = (await s.api['presets:list']({})).presets.length;
    const file = {
      format: PRESET_FILE_FORMAT,
      version: 1,
      presets: [
        { kind: 'schedule', name: 'fine', body: SOFT },
        { kind: 'schedule', name: 'broken', body: { kind: 'discrete', beta: 'linear', betaStart: 0.5, betaEnd: 0.1 } },
      ],
    };
    const e = await refusal(s.api['presets:import']({ file }));
    expect(e.code).toBe('bad_request');
    expect(e.message).toMatch(/schedule "broken": presets\[1\]\.body/);
    expect(e.message).toMatch(/Nothing was imported/);
    const e2 = await refusal(s.api['presets:import']({ file: { format: 'something-else', version: 1, presets: [] } }));
    expect(e2.message).toMatch(/format/);
    const e3 = await refusal(s.api['presets:import']({ file: { ...file, presets: [{ kind: 'schedule', name: '', body: SOFT }] } }));
    expect(e3.message).toMatch(/presets\[0\]\.name/);
    expect((await s.api['presets:list']({})).presets.length).toBe(before);
  });

  it('keeps them in the library file: a second service on the same folder sees them', async () => {
    const other = await Sfumato.open({ libraryPath: s.library.root, mode: 'cli' });
    try {
      expect((await other.api['presets:list']({ kind: 'schedule' })).presets.map((p) => p.name)).toEqual(['soft-start']);
    } finally {
      await other.close();
    }
  });
});
