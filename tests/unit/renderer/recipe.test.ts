/**
 * The renderer's side of restoring a recipe (lib/recipe.ts: which model choice a recipe names and
 * what lands in the Sample form) and of a dropped PNG (lib/pngText.ts: only the text chunks go
 * over the wire, read back by the main side's own reader).
 */
import { describe, expect, it } from 'vitest';
import type { BundledModel, Checkpoint, Run } from '../../../src-main/api/types';
import { embedSampleMetadata, readSampleMetadata } from '../../../src-main/gallery/metadata';
import { parsePngChunks } from '../../../src-main/png/chunks';
import { applyRecipe, recordRecipe, resolveSource, type RecipeForm, type RecipeLists } from '../../../src-renderer/src/lib/recipe';
import { isPng, pngTextOnly, toBase64 } from '../../../src-renderer/src/lib/pngText';
import { OPTION_DEFAULTS } from '../../../src-renderer/src/lib/samplers';
import { makePng, prng, sampleRecord } from '../gallery/helpers';

const sha = (c: string) => c.repeat(64);
const model = { id: 'emoji-32', name: 'Emoji', sha256: sha('a'), trainConfig: { imageSize: 32 } } as unknown as BundledModel;
const run = (id: string, over: Partial<Run> = {}) => ({ id, datasetId: 'ds_1', config: { imageSize: 16 }, initFrom: null, ...over }) as unknown as Run;
const ckpt = (id: string, runId: string, s: string) => ({ id, runId, sha256: s }) as unknown as Checkpoint;
const lists: RecipeLists = {
  models: [model],
  runs: [run('run_bundled', { datasetId: null as never, initFrom: { modelId: 'emoji-32', sha256: sha('a') } }), run('run_mine')],
  checkpoints: [ckpt('ckpt_bundled', 'run_bundled', sha('a')), ckpt('ckpt_mine', 'run_mine', sha('b'))],
  sources: [{ id: 'model:emoji-32' }, { id: 'run:run_mine' }, { id: 'ckpt:ckpt_mine' }],
};
const form = (): RecipeForm => ({ source: 'run:run_mine', sampler: 'dpmpp-2m', steps: 20, seed: 5, seedMode: 'random', options: { ...OPTION_DEFAULTS } });

describe('which model a recipe names', () => {
  it('the exact checkpoint, a bundled model by its sha256, else the run, else a short hash', () => {
    expect(resolveSource({ checkpointId: 'ckpt_mine' }, lists)).toEqual({ source: 'ckpt:ckpt_mine' });
    expect(resolveSource({ checkpointId: 'ckpt_gone', checkpointSha256: sha('b') }, lists)).toEqual({ source: 'ckpt:ckpt_mine' });
    expect(resolveSource({ checkpointId: 'ckpt_bundled', checkpointSha256: sha('a') }, lists)).toEqual({ source: 'model:emoji-32' });
    expect(resolveSource({ checkpointId: 'ckpt_bundled' }, lists)).toEqual({ source: 'model:emoji-32' });
    expect(resolveSource({ checkpointId: 'ckpt_gone', runId: 'run_mine' }, lists)).toEqual({ source: 'run:run_mine', problem: "checkpoint ckpt_gone is not in this library: using run run_mine's latest checkpoint" });
    expect(resolveSource({ modelHash: 'bbbbbbbbbb' }, lists)).toEqual({ source: 'ckpt:ckpt_mine' });
    expect(resolveSource({ modelHash: 'aaaaaaaaaa', modelName: 'x' }, lists)).toEqual({ source: 'model:emoji-32' });
  });

  it('names the model it cannot find', () => {
    expect(resolveSource({ modelHash: '0123456789', modelName: 'v1-5-pruned' }, lists)).toEqual({ problem: "model 'v1-5-pruned' is not in this library — pick a model" });
    expect(resolveSource({ checkpointId: 'ckpt_zzz' }, lists)).toEqual({ problem: "model 'ckpt_zzz' is not in this library — pick a model" });
    expect(resolveSource({ seed: 1 }, lists)).toEqual({ problem: 'the file names no model — pick a model' });
  });
});

describe('applyRecipe', () => {
  it('sets model, sampler, steps, seed and options from a record; a random seed mode becomes fixed', () => {
    const f = form();
    const rec = sampleRecord({ checkpoint: { id: 'ckpt_mine', sha256: sha('b') }, runId: 'run_mine', sampler: 'heun', steps: 9, seed: 77, samplerOptions: { churn: 0.5, sigmas: 'exponential' } });
    const a = applyRecipe(f, recordRecipe(rec), lists);
    expect(a.problems).toEqual([]);
    expect(f).toMatchObject({ source: 'ckpt:ckpt_mine', sampler: 'heun', steps: 9, seed: 77, seedMode: 'fixed' });
    expect(f.options).toEqual({ ...OPTION_DEFAULTS, churn: 0.5, sigmas: 'exponential' });
    expect(a.restored).toEqual(['model', 'Heun (EDM)', '9 steps', 'seed 77', 'sampler options']);
  });

  it('keeps what the recipe lacks and lists what it cannot use', () => {
    const f = form();
    f.seedMode = 'increment';
    const a = applyRecipe(f, { sampler: 'unipc', steps: 5000, eta: 0.5, samplerOptions: { cfg: 7 }, width: 512, height: 512, checkpointId: 'ckpt_mine' }, lists);
    expect(f).toMatchObject({ source: 'ckpt:ckpt_mine', sampler: 'dpmpp-2m', steps: 20, seed: 5, seedMode: 'increment' });
    expect(f.options.eta).toBe(0.5);
    expect(a.problems).toEqual(['sampler unipc is not available in this version', '5000 steps (the form takes 1 to 1000)', 'sampler option cfg (not one this version knows)', 'size 512×512 (this model makes 16×16 images)']);
  });
});

describe('the dropped PNG on the wire', () => {
  it('keeps IHDR, the text chunks and IEND byte for byte, drops the pixels; the main side reads the same record', async () => {
    const rec = sampleRecord();
    const png = embedSampleMetadata(await makePng(256, 256, 3), rec);
    const slim = pngTextOnly(png);
    expect(slim.length).toBeLessThan(png.length / 20);
    expect(parsePngChunks(slim).chunks.map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'tEXt', 'IEND']);
    expect(parsePngChunks(slim).chunks.every((c) => c.crcOk)).toBe(true);
    const meta = readSampleMetadata(slim);
    expect(meta.problems).toEqual([]);
    expect(meta.record).toEqual(rec);
  });

  it('leaves a truncated tail for the main side to report, and non-PNGs as they are', async () => {
    const png = embedSampleMetadata(await makePng(), sampleRecord());
    const cut = png.subarray(0, 60);
    const slim = pngTextOnly(cut);
    expect(readSampleMetadata(slim).problems.join('\n')).toMatch(/truncated/);
    const text = new TextEncoder().encode('hello');
    expect(isPng(text)).toBe(false);
    expect(pngTextOnly(text)).toBe(text);
  });

  it('base64 matches Node’s for any length', () => {
    const r = prng(9);
    for (const n of [0, 1, 2, 3, 100_000]) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });
});
