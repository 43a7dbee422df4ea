/** RunService with a fake job launcher and a real library: lifecycle, pruning, estimate, fine-tune sources. */
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
  datasetId = (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 32 })).dataset.id;
});
afterAll(() => close());

describe('RunService', () => {
  it('starts a run, records progress and checkpoints, and ends it completed; old checkpoints are pruned', async () => {
    const { run, done } = await s.runs.start({ datasetId, seed: 4, config: { steps: 6, checkpointEvery: 2, keepCheckpoints: 2, batchSize: 4 } });
    expect(run.status).toBe('queued');
    const final = await done;
    expect(final).toMatchObject({ status: 'completed', step: 6, seed: 4, initFrom: null });
    const detail = await s.runs.get(run.id);
    expect(detail.checkpoints.map((c) => c.step)).toEqual([4, 6]);
    expect(detail.losses.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(existsSync(s.library.abs(detail.checkpoints[0].file))).toBe(true);
    expect((await s.runs.list()).map((r) => r.id)).toContain(run.id);
    expect(s.runs.finished(run.id)).toBeUndefined();
  });

  it('refuses to resume a completed run and to start on a missing dataset', async () => {
    const { done } = await s.runs.start({ datasetId, config: { steps: 1, batchSize: 4 } });
    const r = await done;
    await expect(s.runs.resume(r.id)).rejects.toMatchObject({ code: 'conflict' });
    await expect(s.runs.start({ datasetId: 'ds_missing' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.runs.get('run_missing')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('estimates seconds per step from a short job and stores nothing', async () => {
    const before = (await s.runs.list()).length;
    const e = await s.runs.estimate({ datasetId, config: { steps: 100, batchSize: 4 } });
    expect(e).toMatchObject({ secondsPerStep: 0.5, steps: 100, totalSeconds: 50, backend: 'fake' });
    expect(await s.runs.list()).toHaveLength(before);
  });

  it('fine-tunes from a bundled model\'s checkpoint with the model\'s architecture, and the model is not a run', async () => {
    const ck = await s.models.bundledCheckpoint('emoji-32');
    const model = (await s.store.models.get('emoji-32'))!;
    const { run, done } = await s.runs.start({ datasetId, initCheckpointId: ck.id, config: { steps: 1, batchSize: 4 } });
    expect(run.initFrom).toEqual({ checkpointId: ck.id, sha256: ck.sha256 });
    expect(run.config.baseChannels).toBe(model.config.baseChannels);
    expect(run.config.channelMults).toEqual(model.config.channelMults);
    await done;
    expect((await s.runs.list()).every((r) => r.datasetId === datasetId)).toBe(true);
  });
});
