/**
 * Excluded images with a real job process: a run started after excluding images trains (in its
 * own process, on the real prepared cache) on the included subset and completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainJobSpec } from '../../src-main/jobs/protocol';
import { Sfumato } from '../../src-main/services/sfumato';
import { resolveTrainConfig } from '../../src-main/training/config';
import { EMOJI_DIR, TINY_CONFIG, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

describe('excluded images in a real training job', () => {
  it('trains on the included images only and completes', async () => {
    const { dataset } = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 16 });
    const items = (await s.datasets.get(dataset.id)).items;
    const keep = items.slice(0, 5);
    await s.datasets.exclude(dataset.id, items.slice(5).map((i) => i.id), true);
    const { run, done } = await s.runs.start({ datasetId: dataset.id, seed: 1, config: { ...TINY_CONFIG, steps: 2, checkpointEvery: 2, previewEvery: 0 } });
    const final = await done;
    expect(final.status, final.error ?? '').toBe('completed');
    expect((await s.store.datasets.runImages(run.id))?.indices).toEqual(keep.map((i) => i.index));
  });

  it('with 8 or more images held out, each preview carries the held-out check (live and stored)', async () => {
    const { dataset } = await s.datasets.import({ dir: EMOJI_DIR, imageSize: 16 });
    const items = (await s.datasets.get(dataset.id)).items;
    expect(items.length).toBe(13);
    await s.datasets.exclude(dataset.id, items.slice(5).map((i) => i.id), true);
    const live: unknown[] = [];
    const onP = (p: { runId?: string; heldOut?: unknown }) => {
      if (p.heldOut) live.push(p.heldOut);
    };
    s.events.on('jobs:progress', onP);
    const { run, done } = await s.runs.start({ datasetId: dataset.id, seed: 2, config: { ...TINY_CONFIG, steps: 2, checkpointEvery: 2, previewEvery: 2 } });
    const final = await done;
    s.events.off('jobs:progress', onP);
    expect(final.status, final.error ?? '').toBe('completed');
    const previews = await s.store.runs.previews(run.id);
    expect(previews.map((p) => p.step)).toEqual([2]);
    const h = previews[0].heldOut!;
    // 5 trained, 8 held out: 5 samples against 5 held-out images, and the 5 training images for the floor
    expect(h.n).toBe(5);
    for (const v of [h.swd, h.floorSwd]) expect(v).toBeGreaterThan(0);
    for (const v of [h.swd, h.mmd, h.floorSwd, h.floorMmd]) expect(Number.isFinite(v)).toBe(true);
    // two steps of training: fresh samples are still noise, far from the pictures
    expect(h.swd).toBeGreaterThan(h.floorSwd);
    expect(live).toEqual([h]);
    expect((await s.runs.get(run.id)).previews[0].heldOut).toEqual(h);
  });

  it('a job given an index outside the cache fails, naming the problem (the job reads the indices)', async () => {
    const { runTrainJob } = await import('../../src-main/jobs/train-job');
    const d = (await s.datasets.list())[0] ?? (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 16 })).dataset;
    const spec: TrainJobSpec = {
      kind: 'train',
      runId: 'run_check',
      config: resolveTrainConfig({ ...TINY_CONFIG, imageSize: 16, steps: 2 }, d.itemCount),
      seed: 1,
      datasetCache: s.library.abs((await s.store.datasets.cacheFile(d.id))!),
      datasetIndices: [0, 999],
      checkpointDir: s.library.abs('tmp'),
      checkpointDirRel: 'tmp',
      previewDir: s.library.abs('tmp'),
      previewDirRel: 'tmp',
      estimateSteps: 1,
    };
    await expect(runTrainJob(spec, { post: () => undefined, signal: new AbortController().signal, pauseRequested: () => false })).rejects.toThrow(
      /Image index 999 is not a distinct image of the cache/,
    );
  });
});
