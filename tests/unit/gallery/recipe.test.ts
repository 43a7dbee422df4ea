/**
 * `gallery:readRecipe` (issue 15 item 4, drop a PNG to restore its recipe): the recipe of our own
 * PNGs, of A1111-style PNGs, of a PNG without one; refusals for non-PNGs and oversized payloads,
 * both through the function and through the service's validated channel (real SQLite library).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src-main/api/errors';
import { MAX_RECIPE_PNG_BYTES } from '../../../src-main/api/recipe';
import { embedSampleMetadata } from '../../../src-main/gallery/metadata';
import { readRecipe } from '../../../src-main/gallery/recipe';
import { Sfumato } from '../../../src-main/services/sfumato';
import { validateRequest } from '../../../src-main/api/channels';
import { tempDir } from '../../helpers/library';
import { cat, latin1, makePng, rawChunk, sampleRecord, withChunksAfterIhdr } from './helpers';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const a1111Png = async (params: string) => withChunksAfterIhdr(await makePng(), rawChunk('tEXt', cat(latin1('parameters'), new Uint8Array([0]), latin1(params))));
const A1111 = 'a castle\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 3141592, Size: 32x32, Model hash: 6ce0161689, Model: v1-5-pruned';

function thrown(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a throw');
}

describe('readRecipe', () => {
  it('restores the full record of a Sfumato PNG', async () => {
    const rec = sampleRecord({ sampler: 'heun', samplerOptions: { churn: 0.5 } });
    const r = readRecipe({ png: b64(embedSampleMetadata(await makePng(), rec)), name: 'smp.png' });
    expect(r.source).toBe('sfumato');
    expect(r.problems).toEqual([]);
    expect(r.settings).toMatchObject({ seed: rec.seed, steps: rec.steps, sampler: 'heun', samplerOptions: { churn: 0.5 }, checkpointId: rec.checkpoint.id, checkpointSha256: rec.checkpoint.sha256, runId: rec.runId });
  });

  it('maps an A1111 PNG, names its model and lists what it cannot use', async () => {
    const r = readRecipe({ png: b64(await a1111Png(A1111)), name: 'castle.png' });
    expect(r.source).toBe('a1111');
    expect(r.settings).toEqual({ seed: 3141592, steps: 30, sampler: 'euler-ancestral', width: 32, height: 32, modelHash: '6ce0161689', modelName: 'v1-5-pruned' });
    expect(r.problems).toEqual(['Prompt: a castle (Sfumato models are unconditional)', 'CFG scale: 7']);
  });

  it('a PNG without a recipe says so (source none), and file damage is reported', async () => {
    const plain = await makePng();
    expect(readRecipe({ png: b64(plain) })).toEqual({ source: 'none', settings: {}, problems: [] });
    const truncated = readRecipe({ png: b64(plain.subarray(0, plain.length - 20)) });
    expect(truncated.source).toBe('none');
    expect(truncated.problems.join('\n')).toMatch(/^File: /);
  });

  it('drops a seed above 4294967295 (a request would refuse it) and says so', async () => {
    const r = readRecipe({ png: b64(await a1111Png(A1111.replace('3141592', String(2 ** 40)))) });
    expect(r.settings.seed).toBeUndefined();
    expect(r.problems.some((p) => p.startsWith(`Seed ${2 ** 40} is above 4294967295`))).toBe(true);
  });

  it('refuses a non-PNG with a message naming the file and what to drop instead', () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
    const e = thrown(() => readRecipe({ png: b64(jpeg), name: 'photo.jpg' }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe('bad_request');
    expect(e.message).toMatch(/"photo\.jpg" is not a PNG image\. Drop a PNG saved by Sfumato or by AUTOMATIC1111/);
    expect(thrown(() => readRecipe({ png: 'not base64!' })).message).toMatch(/png must be base64/);
  });

  it('refuses more than 20 MB: in the request schema and in the function', () => {
    const big = 'A'.repeat(Math.ceil(MAX_RECIPE_PNG_BYTES / 3) * 4 + 4);
    const v = thrown(() => validateRequest('gallery:readRecipe', { png: big, name: 'huge.png' }));
    expect(v.code).toBe('bad_request');
    expect(v.message).toMatch(/png: the file is larger than 20 MB/);
    const e = thrown(() => readRecipe({ png: big, name: 'huge.png' }));
    expect(e.message).toMatch(/"huge\.png" is 20\.0 MB; recipes are read from PNGs up to 20 MB/);
    expect(thrown(() => validateRequest('gallery:readRecipe', { png: '' })).message).toMatch(/the file is empty/);
    expect(thrown(() => validateRequest('gallery:readRecipe', { png: 'AAAA', extra: 1 })).code).toBe('bad_request');
  });
});

describe('gallery:readRecipe through the service', () => {
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

  it('answers the recipe, and a validated error for a non-PNG', async () => {
    const r = await s.api['gallery:readRecipe']({ png: b64(await a1111Png(A1111)), name: 'castle.png' });
    expect(r.source).toBe('a1111');
    expect(r.settings.sampler).toBe('euler-ancestral');
    await expect(s.api['gallery:readRecipe']({ png: b64(latin1('GIF89a…')), name: 'x.gif' })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/"x\.gif" is not a PNG/) });
    await expect(s.api['gallery:readRecipe']({ png: 1 } as never)).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^gallery:readRecipe: png:/) });
  });
});
