/**
 * A library made by the code of schema 4 (tests/fixtures/libraries/v4, written by
 * scripts/make-v4-library-fixture.ts before models had a table of their own) opens with today's
 * code: its bundled and imported models are listed as models, never as runs, and the gallery
 * samples made from them still reproduce identically.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { ROOT, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;

beforeAll(async () => {
  lib = tempDir();
  cpSync(join(ROOT, 'tests', 'fixtures', 'libraries', 'v4'), lib.dir, { recursive: true });
  // the 4 MB bundled model copy is left out of the fixture: the same bytes as the bundled file
  cpSync(join(ROOT, 'models', 'emoji-32.sfwt'), join(lib.dir, 'models', 'emoji-32.sfwt'));
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

describe('a schema-4 library', () => {
  it('lists its trained run as the only run, and its imported model as a model', async () => {
    const { runs } = await s.api['runs:list']({});
    expect(runs.map((r) => r.id)).toEqual(['run_xawsuqi5pr']);
    expect(runs[0].datasetId).not.toBeNull();
    const { imported } = await s.api['models:list']({});
    expect(imported).toEqual([expect.objectContaining({ id: 'model_snyat2kthb', name: 'fixture-onnx', prediction: 'eps', imageSize: 8, checkpointId: 'ckpt_jnyyi8wzvk' })]);
    expect((await s.store.models.get('emoji-32'))?.checkpoint.id).toBe('ckpt_8dzaxs98h0');
  });

  it('reproduces the samples of the bundled and the imported model identically', async () => {
    const { samples } = await s.api['gallery:query']({});
    expect(samples).toHaveLength(3);
    const fromModels = samples.filter((x) => x.checkpoint.id !== 'ckpt_l07k3itn1h');
    expect(fromModels.map((x) => x.checkpoint.id).sort()).toEqual(['ckpt_8dzaxs98h0', 'ckpt_jnyyi8wzvk']);
    for (const smp of fromModels) {
      const r = await s.api['gallery:reproduce']({ id: smp.id });
      expect(r, smp.id).toMatchObject({ identical: true, maxDiff: 0 });
    }
  });

  it('reproduces the bundled model\'s PNG from its embedded recipe (which still names the old fake run)', async () => {
    const smp = (await s.api['gallery:query']({})).samples.find((x) => x.checkpoint.id === 'ckpt_8dzaxs98h0')!;
    expect(await s.reproduceFile(s.library.abs(smp.file))).toMatchObject({ identical: true });
  });

  it('sampling a model again reuses its checkpoint, and the new sample names no run', async () => {
    const r = await s.api['sample:generate']({ modelId: 'model_snyat2kthb', count: 1, seed: 7, steps: 4 });
    expect(r.samples[0]).toMatchObject({ checkpoint: { id: 'ckpt_jnyyi8wzvk' }, runId: null });
    expect((await s.api['runs:list']({})).runs).toHaveLength(1);
  });
});
