/** SamplingService with a fake job launcher and a real library: sources, records, origins, limits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleJobSpec } from '../../../src-main/jobs/protocol';
import type { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService, type FakeJobs } from '../../helpers/fake-jobs';
import { EMOJI_DIR } from '../../helpers/library';

let s: Sfumato;
let jobs: FakeJobs;
let close: () => Promise<void>;
let runId: string;

beforeAll(async () => {
  ({ s, jobs, close } = await fakeService());
  const datasetId = (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 })).dataset.id;
  const { done } = await s.runs.start({ datasetId, seed: 1, config: { steps: 2, batchSize: 4 } });
  runId = (await done).id;
});
afterAll(() => close());

const lastSpec = () => jobs.specs[jobs.specs.length - 1] as SampleJobSpec;

describe('SamplingService', () => {
  it('samples a run\'s latest checkpoint: one gallery row per seed, the record names the run and checkpoint', async () => {
    const r = await s.sampling.generate({ runId, count: 3, seed: 10, steps: 4 });
    expect(r.samples.map((x) => x.seed)).toEqual([10, 11, 12]);
    const ck = (await s.store.checkpoints.latest(runId))!;
    for (const x of r.samples) expect(x).toMatchObject({ runId, checkpoint: { id: ck.id, sha256: ck.sha256 }, sampler: 'ddim', steps: 4 });
    expect((await s.gallery.query({ runId })).total).toBe(3);
    expect(lastSpec().checkpointFile).toBe(s.library.abs(ck.file));
  });

  it('samples a bundled model through its own checkpoint, naming no run and adding no run', async () => {
    const runsBefore = (await s.runs.list()).length;
    const r = await s.sampling.generate({ modelId: 'emoji-32', count: 1, seed: 5, steps: 2 });
    const model = (await s.store.models.get('emoji-32'))!;
    expect(r.samples[0]).toMatchObject({ runId: null, checkpoint: { id: model.checkpoint.id, sha256: model.sha256 }, width: 32 });
    expect(lastSpec().config).toEqual(model.config);
    expect(await s.runs.list()).toHaveLength(runsBefore);
    // a second time: the same checkpoint, no second copy
    expect((await s.sampling.generate({ modelId: 'emoji-32', count: 1, seed: 6, steps: 2 })).samples[0].checkpoint.id).toBe(model.checkpoint.id);
    expect(await s.store.models.list()).toHaveLength(1);
  });

  it('variations blend one seed toward successive subseeds and name their parent', async () => {
    const parent = (await s.sampling.generate({ runId, count: 1, seed: 20, steps: 2 })).samples[0];
    const r = await s.sampling.generate({ checkpointId: parent.checkpoint.id, count: 2, seed: 20, steps: 2, origin: { kind: 'variation', subseed: 7, strength: 0.3 }, parentId: parent.id });
    expect(r.samples.map((x) => x.origin)).toEqual([
      { kind: 'variation', subseed: 7, strength: 0.3 },
      { kind: 'variation', subseed: 8, strength: 0.3 },
    ]);
    expect(r.samples.every((x) => x.parentId === parent.id && x.seed === 20)).toBe(true);
  });

  it('refuses what cannot be sampled before any job starts', async () => {
    const n = jobs.specs.length;
    await expect(s.api['sample:generate']({ runId, count: 100_000 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(s.sampling.generate({ modelId: 'model_nothere', count: 1 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.sampling.generate({ modelId: 'no-such-bundled', count: 1 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.sampling.generate({ count: 1 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(s.sampling.generate({ runId, count: 1, sampler: 'pf-ode', origin: { kind: 'img2img', strength: 0.5, sourceSampleId: 'smp_x' } })).rejects.toMatchObject({ code: 'not_found' });
    expect(jobs.specs).toHaveLength(n);
  });
});
