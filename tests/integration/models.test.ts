/**
 * ONNX through the service: a checkpoint exported to ONNX, re-imported through the import path,
 * samples exactly like the checkpoint; broken or ill-fitting files get clear errors and the
 * service keeps working.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportUNetToOnnx } from '../../src-main/onnx/export';
import { configOfWeights, parseWeights } from '../../src-main/network/weights';
import { Sfumato } from '../../src-main/services/sfumato';
import { EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let runId: string;
let onnxFile: string;

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  const ds = await s.importDataset({ dir: EMOJI_DIR, imageSize: 8 });
  const { done } = await s.startRun({ datasetId: ds.dataset.id, seed: 3, config: { baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4, batchSize: 4, steps: 2, workers: 1 } });
  runId = (await done).id;
  const ck = (await s.store.checkpoints.latest(runId))!;
  const parsed = parseWeights(new Uint8Array(await fs.readFile(s.library.abs(ck.file))));
  onnxFile = join(lib.dir, 'model.onnx');
  await fs.writeFile(onnxFile, exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: 'eps', schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 }, appVersion: 'test' }));
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

const pixels = async (rel: string) => sharp(s.library.abs(rel)).raw().toBuffer();

describe('ONNX models', () => {
  it('an exported checkpoint re-imported as a model samples identically, on ONNX Runtime', async () => {
    const { model } = await s.api['models:import']({ file: onnxFile, prediction: 'eps', schedule: 'linear', name: 'mine' });
    expect(model).toMatchObject({ name: 'mine', prediction: 'eps', imageSize: 8 });
    expect(model.id).toMatch(/^model_/);
    expect((await s.api['models:list']({})).imported.map((m) => m.id)).toContain(model.id);
    const viaModel = await s.api['sample:generate']({ modelId: model.id, count: 2, seed: 11, steps: 5 });
    const viaRun = await s.api['sample:generate']({ runId, count: 2, seed: 11, steps: 5 });
    expect(viaModel.samples[0].backend).toMatch(/^onnxruntime-/);
    for (let i = 0; i < 2; i++) expect((await pixels(viaModel.samples[i].file)).equals(await pixels(viaRun.samples[i].file))).toBe(true);
    // importing the same file again returns the same model
    expect((await s.api['models:import']({ file: onnxFile, prediction: 'eps', schedule: 'linear' })).model.id).toBe(model.id);
  });

  it('models:export writes a checkpoint as ONNX that imports and samples like the checkpoint; never over a file', async () => {
    const ck = (await s.store.checkpoints.latest(runId))!;
    const to = join(lib.dir, 'via-channel.onnx');
    const r = await s.api['models:export']({ checkpointId: ck.id, to });
    expect(r).toMatchObject({ path: to, checkpointId: ck.id });
    expect((await fs.stat(to)).size).toBe(r.bytes);
    const { model } = await s.api['models:import']({ file: to, prediction: 'eps', schedule: 'linear', name: 'via channel' });
    const a = await s.api['sample:generate']({ runId, count: 1, seed: 5, sampler: 'ddim', steps: 3, engine: 'onnx' });
    const b = await s.api['sample:generate']({ modelId: model.id, count: 1, seed: 5, sampler: 'ddim', steps: 3 });
    expect((await pixels(b.samples[0].file)).equals(await pixels(a.samples[0].file))).toBe(true);

    await expect(s.api['models:export']({ checkpointId: ck.id, to })).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/exists; choose another file name/) });
    await expect(s.api['models:export']({ checkpointId: 'ckpt_nope', to: join(lib.dir, 'x.onnx') })).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.api['models:export']({ checkpointId: ck.id })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(s.api['models:export']({ checkpointId: model.checkpointId, to: join(lib.dir, 'y.onnx') })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/already an ONNX model/) });

    // web mode: a download the server hands out once
    const d = await s.api['models:export']({ checkpointId: ck.id, download: true });
    expect(d.download?.name).toMatch(/\.onnx$/);
    const file = await s.downloads.open(d.download!.id, d.download!.name);
    expect(file.size).toBe(d.bytes);
    await file.handle.close();
  });

  it('tfjs and ONNX Runtime agree to within 1/255 on most pixels', async () => {
    const ort = await s.api['sample:generate']({ runId, count: 2, seed: 21, steps: 5, engine: 'onnx' });
    const tfj = await s.api['sample:generate']({ runId, count: 2, seed: 21, steps: 5, engine: 'tfjs' });
    let close = 0;
    let total = 0;
    for (let i = 0; i < 2; i++) {
      const a = await pixels(ort.samples[i].file);
      const b = await pixels(tfj.samples[i].file);
      for (let k = 0; k < a.length; k++) {
        total++;
        if (Math.abs(a[k] - b[k]) <= 1) close++;
      }
    }
    expect(close / total).toBeGreaterThan(0.99);
  });

  it('broken or ill-fitting files are refused with what was expected, and the service keeps working', async () => {
    const bad = join(lib.dir, 'bad');
    await fs.mkdir(bad);
    const bytes = await fs.readFile(onnxFile);
    await fs.writeFile(join(bad, 'truncated.onnx'), bytes.subarray(0, 1000));
    await fs.writeFile(join(bad, 'text.onnx'), 'this is not a model');
    for (const f of ['truncated.onnx', 'text.onnx']) {
      await expect(s.api['models:import']({ file: join(bad, f), prediction: 'eps', schedule: 'linear' })).rejects.toMatchObject({ code: 'bad_request' });
    }
    await expect(s.api['models:import']({ file: join(bad, 'missing.onnx'), prediction: 'eps', schedule: 'linear' })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(s.api['models:import']({ file: onnxFile, prediction: 'eps', schedule: 'nonsense' })).rejects.toMatchObject({ code: 'bad_request' });
    // still alive
    expect((await s.api['gallery:query']({})).total).toBeGreaterThan(0);
  });
});
