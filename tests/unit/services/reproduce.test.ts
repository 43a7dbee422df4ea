/** ReproduceService with a fake (deterministic) sample job and a real library. */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService } from '../../helpers/fake-jobs';
import { EMOJI_DIR } from '../../helpers/library';

let s: Sfumato;
let close: () => Promise<void>;
let runId: string;

beforeAll(async () => {
  ({ s, close } = await fakeService());
  const datasetId = (await s.datasets.import({ dir: EMOJI_DIR, imageSize: 8 })).dataset.id;
  runId = (await (await s.runs.start({ datasetId, config: { steps: 1, batchSize: 4 } })).done).id;
});
afterAll(() => close());

describe('ReproduceService', () => {
  it('regenerates a run sample into scratch and finds it identical, adding nothing to the gallery', async () => {
    const smp = (await s.sampling.generate({ runId, count: 1, seed: 3, steps: 2 })).samples[0];
    const total = (await s.gallery.query({})).total;
    expect(await s.reproduction.sample(smp.id)).toMatchObject({ sampleId: smp.id, identical: true, maxDiff: 0 });
    expect((await s.gallery.query({})).total).toBe(total);
  });

  it('reproduces a bundled model\'s sample from the model\'s checkpoint', async () => {
    const smp = (await s.sampling.generate({ modelId: 'emoji-32', count: 1, seed: 9, steps: 2 })).samples[0];
    expect(await s.reproduction.sample(smp.id)).toMatchObject({ identical: true });
  });

  it('a changed image is reported as different, with how much', async () => {
    const smp = (await s.sampling.generate({ runId, count: 1, seed: 4, steps: 2 })).samples[0];
    writeFileSync(s.library.abs(smp.file), await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer());
    const r = await s.reproduction.sample(smp.id);
    expect(r.identical).toBe(false);
    expect(r.maxDiff).toBeGreaterThan(0);
  });

  it('names what is missing: an unknown sample, a file that is not a PNG', async () => {
    await expect(s.reproduction.sample('smp_nothere')).rejects.toMatchObject({ code: 'not_found' });
    const notPng = s.library.abs('tmp-not-a.png');
    writeFileSync(notPng, 'hello');
    await expect(s.reproduction.file(notPng)).rejects.toMatchObject({ code: 'bad_request', details: { field: 'file' } });
  });
});
