/**
 * LikelihoodService (services/likelihood.ts) on a real SQLite library with fake jobs: which images
 * it scores (held-out = what the run did not train on; else a seeded sample), what it stores, how
 * outliers are ranked, and that every bad request fails before a likelihood job starts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LikelihoodJobSpec } from '../../../src-main/jobs/protocol';
import { fakeService } from '../../helpers/fake-jobs';
import { EMOJI_DIR, TINY_CONFIG } from '../../helpers/library';
import { seededSubset, gatherNchw } from '../../../src-main/services/likelihood';

let svc: Awaited<ReturnType<typeof fakeService>>;
beforeEach(async () => {
  svc = await fakeService();
});
afterEach(async () => svc.close());

const likelihoodSpecs = () => svc.jobs.specs.filter((s): s is LikelihoodJobSpec => s.kind === 'likelihood');

async function datasetAndRun(excludeCount = 0) {
  const { s } = svc;
  const { dataset } = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 16 });
  const items = (await s.datasets.get(dataset.id)).items;
  const excluded = items.slice(0, excludeCount);
  if (excludeCount) await s.datasets.exclude(dataset.id, excluded.map((i) => i.id), true);
  const started = await s.runs.start({ datasetId: dataset.id, seed: 1, config: { ...TINY_CONFIG, imageSize: 16, steps: 2, checkpointEvery: 2, previewEvery: 0 } });
  await started.done;
  return { dataset, items, excluded, runId: started.run.id };
}

describe('eval:likelihood', () => {
  it('scores the held-out images (those the run did not train on) by default, and with heldOut', async () => {
    const { runId, excluded } = await datasetAndRun(3);
    const r = await svc.s.api['eval:likelihood']({ runId, method: 'pf-ode' });
    expect(r.images).toBe('held-out');
    expect(r.n).toBe(3);
    expect(r.perImage.map((p) => p.datasetItemId).sort()).toEqual(excluded.map((i) => i.id).sort());
    const h = await svc.s.api['eval:likelihood']({ runId, heldOut: true, method: 'both' });
    expect(h.images).toBe('held-out');
    expect(h.results.map((x) => x.method)).toEqual(['pf-ode', 'vlb']);
    expect(likelihoodSpecs()[0].pixels.length).toBe(3 * 3 * 16 * 16);
  });

  it('takes a seeded sample of the included images when there is no held-out split, and records the point on the run', async () => {
    const { runId } = await datasetAndRun(0);
    const a = await svc.s.api['eval:likelihood']({ runId, n: 4, seed: 9, record: true, method: 'pf-ode' });
    const b = await svc.s.api['eval:likelihood']({ runId, n: 4, seed: 9, method: 'pf-ode' });
    const c = await svc.s.api['eval:likelihood']({ runId, n: 4, seed: 10, method: 'pf-ode' });
    expect(a.images).toBe('sample');
    expect(b.perImage.map((p) => p.file)).toEqual(a.perImage.map((p) => p.file));
    expect(c.perImage.map((p) => p.file)).not.toEqual(a.perImage.map((p) => p.file));
    const detail = await svc.s.api['runs:get']({ id: runId });
    expect(detail.run.likelihood).toEqual([expect.objectContaining({ method: 'pf-ode', images: 'sample', n: 4, step: 2, bitsPerDim: a.results[0].bitsPerDim })]);
  });

  it('refuses bad input before any likelihood job starts', async () => {
    const { runId, dataset } = await datasetAndRun(0);
    const api = svc.s.api;
    await expect(api['eval:likelihood']({ runId: 'run_nope' })).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/No run run_nope/) });
    await expect(api['eval:likelihood']({ runId, heldOut: true })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/no held-out split.*exclude some images.*--dataset/s) });
    await expect(api['eval:likelihood']({ runId, n: 0 })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/n must be at least 1/) });
    await expect(api['eval:likelihood']({ modelId: 'emoji-32', datasetId: dataset.id })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/prepared at 16 px but the model works at 32 px/) });
    await expect(api['eval:likelihood']({ modelId: 'emoji-32' })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/datasetId/) });
    await expect(api['eval:likelihood']({ datasetId: dataset.id })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/which model/) });
    await expect(api['datasets:outliers']({ id: 'ds_nope', runId })).rejects.toMatchObject({ code: 'not_found' });
    await expect(api['gallery:typicality']({ id: 'smp_nope' })).rejects.toMatchObject({ code: 'not_found' });
    expect(likelihoodSpecs()).toHaveLength(0);
  });
});

describe('evalLikelihoodEvery (runs:start)', () => {
  it('measures held-out bits/dim at the chosen checkpoints and records them with the run', async () => {
    const { s } = svc;
    const { dataset } = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 16 });
    const items = (await s.datasets.get(dataset.id)).items;
    await s.datasets.exclude(dataset.id, items.slice(0, 3).map((i) => i.id), true);
    const started = await s.api['runs:start']({ datasetId: dataset.id, seed: 1, config: { ...TINY_CONFIG, imageSize: 16, steps: 4, checkpointEvery: 1, previewEvery: 0 }, evalLikelihoodEvery: 2 });
    await s.runs.finished(started.run.id);
    await s.likelihood.settled();
    const { run } = await s.api['runs:get']({ id: started.run.id });
    expect(run.likelihood.map((p) => [p.step, p.images, p.n, p.method])).toEqual([
      [2, 'held-out', 3, 'pf-ode'],
      [4, 'held-out', 3, 'pf-ode'],
    ]);
  });

  it('is refused before the run starts when the dataset has no held-out images', async () => {
    const { s } = svc;
    const { dataset } = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 16 });
    await expect(s.api['runs:start']({ datasetId: dataset.id, config: { ...TINY_CONFIG, imageSize: 16, steps: 2 }, evalLikelihoodEvery: 1 })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/needs a held-out split.*Exclude some images/s),
    });
    expect(await s.api['runs:list']({})).toEqual({ runs: [] });
    await expect(s.api['runs:start']({ datasetId: dataset.id, evalLikelihoodEvery: 0 })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/at least 1/) });
  });
});

describe('datasets:outliers', () => {
  it('ranks every included image, highest bits/dim first, and keeps top', async () => {
    const { runId, dataset, items } = await datasetAndRun(2);
    const r = await svc.s.api['datasets:outliers']({ id: dataset.id, runId, top: 4 });
    expect(r.scored).toBe(items.length - 2);
    expect(r.outliers).toHaveLength(4);
    expect(r.outliers.map((o) => o.rank)).toEqual([1, 2, 3, 4]);
    const bpd = r.outliers.map((o) => o.bitsPerDim);
    expect([...bpd].sort((a, b) => b - a)).toEqual(bpd);
    // the fake job scores mean brightness: check the top one against the cache itself
    const spec = likelihoodSpecs()[0];
    const per = 3 * 16 * 16;
    const means = Array.from({ length: spec.pixels.length / per }, (_, i) => spec.pixels.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) / per / 32);
    expect(r.outliers[0].bitsPerDim).toBe(Math.max(...means));
  });
});

describe('helpers', () => {
  it('seededSubset picks n distinct members, in order, reproducibly', () => {
    const pool = Array.from({ length: 50 }, (_, i) => i * 2);
    const a = seededSubset(pool, 10, 3);
    expect(new Set(a).size).toBe(10);
    expect(a.every((v) => pool.includes(v))).toBe(true);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(seededSubset(pool, 10, 3)).toEqual(a);
    expect(seededSubset(pool, 10, 4)).not.toEqual(a);
  });
  it('gatherNchw turns cache HWC bytes into NCHW', () => {
    // two 1x2 images: pixels (r,g,b)
    const hwc = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(gatherNchw(hwc, [1], 1).slice(0, 0))).toEqual([]);
    const size1 = Uint8Array.from([1, 2, 3, 7, 8, 9]);
    expect(Array.from(gatherNchw(size1, [1, 0], 1))).toEqual([7, 8, 9, 1, 2, 3]);
    const two = Uint8Array.from([10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33]); // one 2x2 image
    expect(Array.from(gatherNchw(two, [0], 2))).toEqual([10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33]);
  });
});
