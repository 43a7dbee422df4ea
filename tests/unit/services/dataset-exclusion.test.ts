/**
 * Excluding images from a dataset, with a fake job launcher and a real library: the count and the
 * content hash follow, runs started afterwards train on the included images, and a run started
 * before keeps its own images when it is resumed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainJobSpec } from '../../../src-main/jobs/protocol';
import type { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService, fakeTrain, type FakeJobs } from '../../helpers/fake-jobs';
import { EMOJI_DIR } from '../../helpers/library';

let s: Sfumato;
let jobs: FakeJobs;
let close: () => Promise<void>;
let datasetId: string;

beforeAll(async () => {
  ({ s, jobs, close } = await fakeService({
    // A fresh run stops with an error after its first checkpoint (so it can be resumed); a resumed run finishes.
    train: async (spec, post, signal) => {
      if (spec.estimateSteps || spec.init?.mode === 'resume') return fakeTrain(spec, post, signal);
      await fakeTrain({ ...spec, config: { ...spec.config, steps: 2 } }, post, signal);
      throw new Error('stopped after the first checkpoint');
    },
  }));
  datasetId = (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 })).dataset.id;
});
afterAll(() => close());

const trainSpecs = () => jobs.specs.filter((j): j is TrainJobSpec => j.kind === 'train');

describe('excluding dataset images', () => {
  it('exclude lowers the count and changes the content hash; including again restores both', async () => {
    const before = await s.datasets.get(datasetId);
    expect(before.excludedCount).toBe(0);
    expect(before.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const two = before.items.slice(0, 2).map((i) => i.id);
    const after = await s.datasets.exclude(datasetId, two, true);
    expect(after.itemCount).toBe(before.itemCount - 2);
    expect(after.excludedCount).toBe(2);
    expect(after.contentHash).not.toBe(before.contentHash);
    const detail = await s.datasets.get(datasetId);
    expect(detail.items.filter((i) => i.excluded).map((i) => i.id)).toEqual(two);
    expect((await s.datasets.list()).find((d) => d.id === datasetId)?.itemCount).toBe(before.itemCount - 2);
    const back = await s.datasets.exclude(datasetId, two, false);
    expect(back.itemCount).toBe(before.itemCount);
    expect(back.contentHash).toBe(before.contentHash);
  });

  it('refuses an image of another dataset (or none) and changes nothing', async () => {
    const d = await s.datasets.get(datasetId);
    await expect(s.api['datasets:exclude']({ id: datasetId, itemIds: [d.items[0].id, 'item_nope'], excluded: true })).rejects.toMatchObject({
      code: 'not_found',
      details: { field: 'itemIds', unknown: ['item_nope'] },
    });
    expect((await s.datasets.get(datasetId)).excludedCount).toBe(0);
    await expect(s.api['datasets:exclude']({ id: datasetId, itemIds: [], excluded: true })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(s.api['datasets:exclude']({ id: 'ds_nope', itemIds: ['item_x'], excluded: true })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a run started after an exclusion trains on the included images; resuming a run started before keeps all of its images', async () => {
    const d = await s.datasets.get(datasetId);
    const all = d.items.map((i) => i.index);
    // Run A starts on every image, stops after a checkpoint.
    const a = await s.runs.start({ datasetId, seed: 1, config: { steps: 4, checkpointEvery: 2, batchSize: 4 } });
    expect((await a.done).status).toBe('failed');
    expect(trainSpecs().at(-1)!.datasetIndices).toEqual(all);

    // Two images are excluded.
    const gone = d.items.slice(1, 3);
    const changed = await s.datasets.exclude(datasetId, gone.map((i) => i.id), true);
    const included = all.filter((i) => !gone.some((g) => g.index === i));

    // Run B, started now, trains on the included images only.
    const b = await s.runs.start({ datasetId, seed: 2, config: { steps: 4, checkpointEvery: 2, batchSize: 4 } });
    await b.done;
    expect(trainSpecs().at(-1)!.datasetIndices).toEqual(included);
    expect((await s.store.datasets.runImages(b.run.id))?.datasetHash).toBe(changed.contentHash);

    // Resuming A: still every image it started on.
    const resumed = await s.runs.resume(a.run.id);
    expect((await resumed.done).status).toBe('completed');
    const spec = trainSpecs().at(-1)!;
    expect(spec.init?.mode).toBe('resume');
    expect(spec.datasetIndices).toEqual(all);
    expect((await s.store.datasets.runImages(a.run.id))?.datasetHash).toBe(d.contentHash);

    // The estimate uses the included set too.
    await s.runs.estimate({ datasetId, config: { steps: 10, batchSize: 4 } });
    expect(trainSpecs().at(-1)!.datasetIndices).toEqual(included);
    await s.datasets.exclude(datasetId, gone.map((i) => i.id), false);
  });

  it('a run recorded before run images existed (no row) resumes on the whole cache', async () => {
    const a = await s.runs.start({ datasetId, seed: 3, config: { steps: 4, checkpointEvery: 2, batchSize: 4 } });
    await a.done;
    await s.store.db.run('DELETE FROM run_images WHERE run_id = ?', [a.run.id]);
    await (await s.runs.resume(a.run.id)).done;
    expect(trainSpecs().at(-1)!.datasetIndices).toBeUndefined();
  });

  it('refuses to start a run when every image is excluded, saying what to do', async () => {
    const d = await s.datasets.get(datasetId);
    await s.datasets.exclude(datasetId, d.items.map((i) => i.id), true);
    await expect(s.api['runs:start']({ datasetId, config: { steps: 1, batchSize: 4 } })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/Every image of dataset .* is excluded.*Include at least one/),
    });
    await s.datasets.exclude(datasetId, d.items.map((i) => i.id), false);
  });

  it('renames a dataset (trimmed); an empty name or an unknown dataset is refused', async () => {
    const r = await s.api['datasets:rename']({ id: datasetId, name: '  Emoji faces ' });
    expect(r.dataset.name).toBe('Emoji faces');
    expect((await s.datasets.get(datasetId)).name).toBe('Emoji faces');
    await expect(s.api['datasets:rename']({ id: datasetId, name: '   ' })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('name') });
    await expect(s.api['datasets:rename']({ id: 'ds_nope', name: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });
});
