/** GalleryService with a fake job launcher and a real library: organise, trash, empty, export. */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportJobSpec } from '../../../src-main/jobs/protocol';
import type { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService, type FakeJobs } from '../../helpers/fake-jobs';
import { EMOJI_DIR } from '../../helpers/library';

let s: Sfumato;
let jobs: FakeJobs;
let close: () => Promise<void>;
let ids: string[];

beforeAll(async () => {
  ({ s, jobs, close } = await fakeService());
  const datasetId = (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 })).dataset.id;
  const runId = (await (await s.runs.start({ datasetId, config: { steps: 1, batchSize: 4 } })).done).id;
  ids = (await s.sampling.generate({ runId, count: 4, seed: 1, steps: 2 })).samples.map((x) => x.id);
});
afterAll(() => close());

describe('GalleryService', () => {
  it('marks favourites, tags and collects', async () => {
    expect(await s.gallery.update({ ids: ids.slice(0, 2), favorite: true, addTags: ['night'], collection: 'best' })).toEqual({ updated: 2 });
    expect((await s.gallery.query({ favorite: true })).samples.map((x) => x.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect((await s.gallery.query({ tag: 'night' })).total).toBe(2);
    expect((await s.gallery.meta(ids[0])).tags).toEqual(['night']);
    await expect(s.gallery.get('smp_nothere')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('trash, restore, and empty the trash: files go with their rows', async () => {
    expect(await s.gallery.trash([ids[3]])).toBe(1);
    expect((await s.gallery.query({ trash: true })).samples.map((x) => x.id)).toEqual([ids[3]]);
    expect(await s.gallery.restore([ids[3]])).toBe(1);
    await s.gallery.trash([ids[3]]);
    const file = s.library.abs((await s.gallery.get(ids[3])).file);
    expect(existsSync(file)).toBe(true);
    expect(await s.gallery.emptyTrash({})).toEqual({ deleted: 1 });
    expect(existsSync(file)).toBe(false);
    await expect(s.gallery.get(ids[3])).rejects.toMatchObject({ code: 'not_found' });
  });

  it('exports through an export job with each sample\'s record and file, and checks the request first', async () => {
    const r = await s.gallery.export({ ids: ids.slice(0, 2), to: s.library.abs('out.zip'), format: 'webp' });
    expect(r).toMatchObject({ count: 2, path: s.library.abs('out.zip') });
    const spec = jobs.specs[jobs.specs.length - 1] as ExportJobSpec;
    expect(spec).toMatchObject({ kind: 'export', format: 'webp', contactSheet: false });
    expect(spec.samples.map((x) => x.record.id)).toEqual(ids.slice(0, 2));
    const n = jobs.specs.length;
    await expect(s.gallery.export({ ids: ['smp_nothere'], to: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.gallery.export({ ids: ids.slice(0, 1), to: 'x', upscale: 17 })).rejects.toMatchObject({ code: 'bad_request', details: { field: 'upscale' } });
    expect(jobs.specs).toHaveLength(n);
  });
});
