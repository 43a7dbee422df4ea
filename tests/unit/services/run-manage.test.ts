/** Runs as things you manage: names, rename, delete (keeping checkpoints gallery images came from). */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService } from '../../helpers/fake-jobs';
import { EMOJI_DIR } from '../../helpers/library';

let s: Sfumato;
let close: () => Promise<void>;
let datasetId: string;

beforeAll(async () => {
  ({ s, close } = await fakeService());
  datasetId = (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 })).dataset.id;
});
afterAll(() => close());

const tiny = { steps: 6, checkpointEvery: 2, keepCheckpoints: 0, previewEvery: 0, batchSize: 4 };

describe('run names', () => {
  it('a new run is named after its dataset, kind and date unless a name is given', async () => {
    const ds = (await s.store.datasets.get(datasetId))!;
    const { run, done } = await s.runs.start({ datasetId, config: { ...tiny, steps: 1 } });
    await done;
    expect(run.name).toBe(`${ds.name} · scratch · ${run.createdAt.slice(0, 10)}`);
    const named = await s.api['runs:start']({ datasetId, name: '  roses, first try ', config: { ...tiny, steps: 1 } });
    expect(named.run.name).toBe('roses, first try');
    await s.runs.finished(named.run.id);
  });

  it('renames a run (trimmed); an empty name, a control character or an unknown run is refused', async () => {
    const { run, done } = await s.runs.start({ datasetId, config: { ...tiny, steps: 1 } });
    await done;
    expect((await s.api['runs:rename']({ id: run.id, name: ' Night owls ' })).run.name).toBe('Night owls');
    expect((await s.runs.list()).find((r) => r.id === run.id)?.name).toBe('Night owls');
    expect((await s.runs.get(run.id)).name).toBe('Night owls');
    await expect(s.api['runs:rename']({ id: run.id, name: '   ' })).rejects.toMatchObject({ code: 'bad_request', details: { issues: [{ field: 'name' }] } });
    await expect(s.api['runs:rename']({ id: run.id, name: 'a\nb' })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(s.api['runs:rename']({ id: 'run_nothere', name: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('run delete', () => {
  it('removes the run, its losses, previews and checkpoint files when no gallery image came from it', async () => {
    const run = await (await s.runs.start({ datasetId, config: tiny })).done;
    const detail = await s.runs.get(run.id);
    const files = detail.checkpoints.map((c) => s.library.abs(c.file));
    expect(files).toHaveLength(3);
    expect(files.every((f) => existsSync(f))).toBe(true);
    expect(await s.api['runs:delete']({ id: run.id })).toEqual({ deleted: true, keptCheckpoints: 0 });
    expect(files.some((f) => existsSync(f))).toBe(false);
    expect(existsSync(s.library.abs(s.library.rel('runs', run.id)))).toBe(false);
    expect(await s.store.runs.get(run.id)).toBeUndefined();
    expect(await s.store.runs.losses(run.id)).toEqual([]);
    expect((await s.runs.list()).map((r) => r.id)).not.toContain(run.id);
    await expect(s.api['runs:delete']({ id: run.id })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('keeps the checkpoints gallery images (trashed ones too) were generated from, and reproduce still works', async () => {
    const run = await (await s.runs.start({ datasetId, config: tiny })).done;
    const cks = (await s.runs.get(run.id)).checkpoints;
    expect(cks.map((c) => c.step)).toEqual([2, 4, 6]);
    const live = (await s.sampling.generate({ checkpointId: cks[0].id, count: 1, seed: 5, steps: 2 })).samples[0];
    const trashed = (await s.sampling.generate({ checkpointId: cks[1].id, count: 1, seed: 6, steps: 2 })).samples[0];
    await s.gallery.trash([trashed.id]);

    expect(await s.api['runs:delete']({ id: run.id })).toEqual({ deleted: true, keptCheckpoints: 2 });
    // the two used checkpoints stay, row and file; the unused one is gone
    expect(existsSync(s.library.abs(cks[0].file))).toBe(true);
    expect(existsSync(s.library.abs(cks[1].file))).toBe(true);
    expect(existsSync(s.library.abs(cks[2].file))).toBe(false);
    expect(await s.store.checkpoints.get(cks[0].id)).toBeDefined();
    expect(await s.store.checkpoints.get(cks[1].id)).toBeDefined();
    expect(await s.store.checkpoints.get(cks[2].id)).toBeUndefined();
    expect(await s.store.runs.losses(run.id)).toEqual([]);
    // the run is gone from every list, and its kept checkpoints are not offered for sampling
    expect((await s.runs.list()).map((r) => r.id)).not.toContain(run.id);
    expect((await s.store.checkpoints.list()).map((c) => c.id)).not.toContain(cks[0].id);
    await expect(s.runs.get(run.id)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('was deleted') });
    await expect(s.runs.resume(run.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.runs.cancel(run.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.api['runs:rename']({ id: run.id, name: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    // the images still name their run and checkpoint, and reproduce from them
    expect((await s.gallery.get(live.id)).runId).toBe(run.id);
    expect(await s.reproduction.sample(live.id)).toMatchObject({ identical: true });
    expect(await s.reproduction.sample(trashed.id)).toMatchObject({ identical: true });
  });

  it('refuses to delete a running or paused run until it is cancelled', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = await fakeService({
      train: async (spec, post, signal) => {
        post({ type: 'train-progress', step: 1, total: spec.config.steps, losses: [{ step: 1, loss: 1 }], stepsPerSec: 1, lr: 1e-3, gradNorm: 1 });
        await Promise.race([gate, new Promise((r) => signal.addEventListener('abort', r))]);
      },
    });
    try {
      const ds = (await slow.s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 })).dataset.id;
      const { run, done } = await slow.s.runs.start({ datasetId: ds, config: tiny });
      await expect(slow.s.api['runs:delete']({ id: run.id })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('cancel it first') });
      await slow.s.runs.cancel(run.id);
      await done;
      expect(await slow.s.api['runs:delete']({ id: run.id })).toMatchObject({ deleted: true });
      // a run recorded as paused (its job gone) is refused too
      const paused = await slow.s.store.runs.insert({ id: 'run_paused', datasetId: ds, config: run.config, seed: 1 });
      await slow.s.store.runs.setStatus(paused.id, 'paused');
      await expect(slow.s.api['runs:delete']({ id: paused.id })).rejects.toMatchObject({ code: 'conflict' });
    } finally {
      release();
      await slow.close();
    }
  });
});
