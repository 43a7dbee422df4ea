/** ModelService on a real library: bundled models copied in once, ONNX import, listing; never runs. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../../src-main/services/sfumato';
import { fakeService } from '../../helpers/fake-jobs';
import { ROOT } from '../../helpers/library';

/** a small ONNX UNet (8 px, eps, linear schedule) that today's exporter wrote for the v4 fixture */
const ONNX = join(ROOT, 'tests', 'fixtures', 'libraries', 'v4', 'models', 'model_snyat2kthb.onnx');

let s: Sfumato;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ s, close } = await fakeService());
});
afterAll(() => close());

describe('ModelService', () => {
  it('lists the bundled models from the manifest and nothing imported at first', async () => {
    const r = await s.models.list();
    expect(r.models.map((m) => m.id)).toContain('emoji-32');
    expect(r.models[0]).not.toHaveProperty('file');
    expect(r.imported).toEqual([]);
  });

  it('copies a bundled model in once, as a model with one checkpoint, not as a run', async () => {
    const a = await s.models.bundledCheckpoint('emoji-32');
    const b = await s.models.checkpointOf('emoji-32');
    expect(b.id).toBe(a.id);
    expect(a).toMatchObject({ runId: null, modelId: 'emoji-32', file: 'models/emoji-32.sfwt' });
    expect(readdirSync(join(s.library.root, 'models')).filter((f) => f.startsWith('emoji-32'))).toEqual(['emoji-32.sfwt']);
    expect(await s.runs.list()).toEqual([]);
    expect(await s.store.checkpoints.list()).toEqual([]);
  });

  it('imports an ONNX UNet as a model (once per file) and lists it; its checkpoint holds the .onnx copy', async () => {
    const m = await s.models.importOnnx({ file: ONNX, prediction: 'eps', schedule: 'linear', name: 'tiny' });
    expect(m).toMatchObject({ name: 'tiny', prediction: 'eps', imageSize: 8 });
    expect(m).not.toHaveProperty('runId');
    const ck = (await s.store.checkpoints.get(m.checkpointId))!;
    expect(ck).toMatchObject({ modelId: m.id, runId: null, sha256: m.sha256, file: `models/${m.id}.onnx` });
    expect((await s.models.importOnnx({ file: ONNX, prediction: 'eps', schedule: 'linear' })).id).toBe(m.id);
    expect((await s.models.list()).imported.map((x) => x.id)).toEqual([m.id]);
    expect(await s.models.imported(m.id)).toEqual(m);
    expect(await s.runs.list()).toEqual([]);
  });

  it('refuses unknown models and bad import settings, naming the field', async () => {
    await expect(s.models.imported('model_nothere')).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.models.imported('emoji-32')).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.models.checkpointOf('model_nothere')).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.models.importOnnx({ file: ONNX, prediction: 'score', schedule: 'linear' })).rejects.toMatchObject({ code: 'bad_request', details: { field: 'prediction' } });
    await expect(s.models.importOnnx({ file: join(ROOT, 'nope.onnx'), prediction: 'eps', schedule: 'linear' })).rejects.toMatchObject({ code: 'bad_request', details: { field: 'file' } });
  });
});
