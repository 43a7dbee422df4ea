/**
 * Gallery provenance end to end through the service: every PNG carries its recipe (A1111 text +
 * full record), reproduce gives identical pixels for each kind of origin, organisation, trash,
 * export, and hostile files are reported, not crashed on.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../src-main/api/types';
import { parseA1111Parameters, readSampleMetadata } from '../../src-main/gallery/metadata';
import { Sfumato } from '../../src-main/services/sfumato';
import { EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let runId: string;
let base: SampleRecord[];

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  const ds = await s.importDataset({ dir: EMOJI_DIR, imageSize: 8 });
  const { done } = await s.startRun({
    datasetId: ds.dataset.id,
    seed: 2,
    config: { baseChannels: 8, channelMults: [1, 2], attentionResolutions: [4], groups: 4, batchSize: 4, steps: 2, workers: 1 },
  });
  const run = await done;
  expect(run.status).toBe('completed');
  runId = run.id;
  base = (await s.api['sample:generate']({ runId, count: 2, seed: 40, steps: 4 })).samples;
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

describe('gallery provenance', () => {
  it('every PNG carries an A1111 parameters text and the full record', async () => {
    const rec = base[0];
    const meta = readSampleMetadata(new Uint8Array(await fs.readFile(s.library.abs(rec.file))));
    expect(meta.problems).toEqual([]);
    expect(meta.record).toMatchObject({ id: rec.id, seed: 40, sampler: 'ddim', steps: 4, checkpoint: rec.checkpoint, origin: { kind: 'seed' } });
    const a = parseA1111Parameters(meta.parametersText!);
    expect(a.params).toMatchObject({ Steps: '4', Sampler: 'DDIM', Seed: '40', Size: '8x8' });
    expect(a.params['Model hash']).toBe(rec.checkpoint.sha256.slice(0, 10));
  });

  it('reproduces seed, variation, interpolation and img2img samples with identical pixels', async () => {
    const v = await s.api['sample:generate']({ checkpointId: base[0].checkpoint.id, count: 1, seed: 40, steps: 4, origin: { kind: 'variation', subseed: 77, strength: 0.3 }, parentId: base[0].id });
    const i = await s.api['sample:generate']({ checkpointId: base[0].checkpoint.id, count: 0 as never, seed: 40, steps: 4, origin: { kind: 'interpolation', seedB: 41, frames: 3 } }).catch(() => undefined);
    expect(i).toBeUndefined(); // count must be >= 1 even when frames decide the number
    const interp = await s.api['sample:generate']({ checkpointId: base[0].checkpoint.id, count: 1, seed: 40, steps: 4, origin: { kind: 'interpolation', seedB: 41, frames: 3 } });
    expect(interp.samples.map((x) => x.origin)).toEqual([0, 0.5, 1].map((t) => ({ kind: 'interpolation', seedB: 41, t })));
    const img = await s.api['sample:generate']({ runId, count: 1, seed: 9, steps: 10, origin: { kind: 'img2img', strength: 0.5, sourceSampleId: base[1].id } });
    expect(img.samples[0]).toMatchObject({ nfe: 5, parentId: base[1].id, origin: { kind: 'img2img', strength: 0.5, source: { sampleId: base[1].id } } });
    expect(v.samples[0].parentId).toBe(base[0].id);
    for (const rec of [base[0], v.samples[0], interp.samples[1], img.samples[0]]) {
      const r = await s.api['gallery:reproduce']({ id: rec.id });
      expect(r, rec.origin.kind).toMatchObject({ sampleId: rec.id, identical: true, maxDiff: 0 });
    }
    // The interpolation's end frames are the plain samples of each seed.
    const end0 = await fs.readFile(s.library.abs(interp.samples[0].file));
    expect(readSampleMetadata(new Uint8Array(end0)).record?.seed).toBe(40);
    // Reproducing from the PNG file alone works too.
    const fromFile = await s.reproduceFile(s.library.abs(v.samples[0].file));
    expect(fromFile.identical).toBe(true);
  });

  it('reports hostile or foreign files instead of crashing', async () => {
    const dir = join(lib.dir, 'hostile');
    await fs.mkdir(dir);
    const good = await fs.readFile(s.library.abs(base[0].file));
    const cases: Record<string, Uint8Array> = {
      'truncated.png': good.subarray(0, 60),
      'random.png': new Uint8Array(500).map((_, i) => (i * 37) % 251),
      'badcrc.png': Uint8Array.from(good, (b, i) => (i === 40 ? b ^ 0xff : b)),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      await fs.writeFile(join(dir, name), bytes);
      await expect(s.reproduceFile(join(dir, name))).rejects.toMatchObject({ code: 'bad_request' });
    }
  });

  it('organises: favourites, tags, collections, search, filters, trash with undo, empty trash', async () => {
    const [a, b] = base;
    await s.api['gallery:update']({ ids: [a.id], favorite: true, addTags: ['night', 'blue'], collection: 'picks' });
    expect((await s.api['gallery:meta']({ id: a.id })).meta).toEqual({ favorite: true, tags: ['blue', 'night'], collections: ['picks'], deletedAt: null });
    expect((await s.api['gallery:query']({ favorite: true })).samples.map((x) => x.id)).toEqual([a.id]);
    // Each page names its favourites, so the grid can badge their tiles without a request per tile.
    const page = await s.api['gallery:query']({});
    expect(page.favorites).toEqual([a.id]);
    expect(page.samples.map((x) => x.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    expect((await s.api['gallery:query']({ favorite: false })).favorites).toEqual([]);
    expect((await s.api['gallery:query']({ tag: 'night' })).samples.map((x) => x.id)).toEqual([a.id]);
    expect((await s.api['gallery:query']({ text: 'blue' })).samples.map((x) => x.id)).toEqual([a.id]);
    expect((await s.api['gallery:query']({ text: '100%' })).total).toBe(0);
    expect((await s.api['gallery:query']({ sampler: 'ddim', steps: 4, runId })).total).toBeGreaterThanOrEqual(2);
    await s.api['gallery:delete']({ ids: [b.id] });
    expect((await s.api['gallery:query']({})).samples.map((x) => x.id)).not.toContain(b.id);
    expect((await s.api['gallery:query']({ trash: true })).samples.map((x) => x.id)).toEqual([b.id]);
    await s.api['gallery:restore']({ ids: [b.id] });
    expect((await s.api['gallery:query']({ trash: true })).total).toBe(0);
    await s.api['gallery:delete']({ ids: [b.id] });
    expect((await s.api['gallery:emptyTrash']({})).deleted).toBe(1);
    await expect(fs.stat(s.library.abs(b.file))).rejects.toThrow();
    await expect(s.api['gallery:update']({ ids: [a.id], addTags: ['a,b'] })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('exports a zip whose contents match the manifest, never overwriting', async () => {
    const ids = (await s.api['gallery:query']({})).samples.map((x) => x.id);
    const to = join(lib.dir, 'out', 'export.zip');
    const r1 = await s.api['gallery:export']({ ids, to, contactSheet: true });
    expect(r1.path).toBe(to);
    expect(r1.count).toBe(ids.length);
    expect(r1.files).toEqual(expect.arrayContaining(['manifest.json', 'manifest.csv']));
    const r2 = await s.api['gallery:export']({ ids, to });
    expect(r2.path).not.toBe(to);
    const { unzipSync, strFromU8 } = await import('fflate');
    const entries = unzipSync(new Uint8Array(await fs.readFile(to)));
    const manifest = JSON.parse(strFromU8(entries['manifest.json'])) as { items: { file: string; record: { id: string } }[] };
    expect(manifest.items.map((x) => x.record.id).sort()).toEqual([...ids].sort());
    for (const it of manifest.items) expect(entries[it.file]?.length).toBeGreaterThan(0);
    await expect(fs.stat(r1.contactSheet!)).resolves.toBeTruthy();
  });

  it('makes a denoising animation of a sample: one frame per step plus the final image', async () => {
    const out = join(lib.dir, 'anim.gif');
    const r = await s.animateSample(base[0].id, { out, what: 'x0' });
    expect(r).toMatchObject({ frames: base[0].steps + 1, identical: true });
    const { default: sharp } = await import('sharp');
    const meta = await sharp(out, { pages: -1 }).metadata();
    // identical consecutive frames may be merged by the GIF encoder (this model is barely trained)
    expect(meta.pages).toBeGreaterThanOrEqual(2);
    expect(meta.pages).toBeLessThanOrEqual(base[0].steps + 1);
    await expect(s.animateSample(base[0].id, { out })).rejects.toMatchObject({ code: 'conflict' });
  });
});
