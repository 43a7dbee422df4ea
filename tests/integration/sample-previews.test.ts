/**
 * Live preview on every tile (issue 15 item 4): a sampling job sends a predicted-x0 preview for
 * every image of its batch, not only the first, as small PNG data URLs at the model's size. Real
 * job process, the bundled model, two steps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { JobProgress } from '../../src-main/api/types';
import { previewInterval } from '../../src-main/jobs/sample-job';
import { Sfumato } from '../../src-main/services/sfumato';
import { tempDir } from '../helpers/library';

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

describe('sampling previews', () => {
  it('every image of the batch gets a live preview (small PNG data URLs)', async () => {
    const model = (await s.api['models:list']({})).models[0];
    const events: JobProgress[] = [];
    const res = await s.generate({ modelId: model.id, count: 3, seed: 5, steps: 2, sampler: 'ddim' }, (p) => events.push(p));
    expect(res.samples).toHaveLength(3);
    const previews = events.filter((e) => e.previewImage !== undefined);
    expect(new Set(previews.map((e) => e.previewIndex))).toEqual(new Set([0, 1, 2]));
    for (const p of previews) {
      expect(p.previewImage).toMatch(/^data:image\/png;base64,/);
      const png = Buffer.from(p.previewImage!.slice('data:image/png;base64,'.length), 'base64');
      const meta = await sharp(png).metadata();
      expect([meta.width, meta.height]).toEqual([model.trainConfig.imageSize, model.trainConfig.imageSize]);
    }
  });

  it('bigger batches refresh their previews less often', () => {
    expect(previewInterval(1)).toBe(400);
    expect(previewInterval(4)).toBe(400);
    expect(previewInterval(16)).toBe(1600);
  });
});
