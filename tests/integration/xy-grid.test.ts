/**
 * X/Y grids end to end through the service and a real job process: every cell is a gallery
 * sample with exactly a plain generate's pixels, the grid image is a record of kind 'grid' with
 * its recipe (in the row and in the PNG), reproduce and export accept it, bad axis values are
 * refused naming the axis and value, and cancelling keeps the finished cells without a grid.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GridResult, SampleRecord } from '../../src-main/api/types';
import { gridLayout } from '../../src-main/gallery/grid';
import { readSampleMetadata } from '../../src-main/gallery/metadata';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let runId: string;
let g: GridResult;

async function pixels(file: string): Promise<Buffer> {
  return (await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true })).data;
}

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
  g = await s.api['sample:grid']({ runId, steps: 4, x: { kind: 'seed', values: [5, 6] }, y: { kind: 'sampler', values: ['ddim', 'euler'] } });
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

describe('X/Y grid', () => {
  it('records every cell as a gallery sample tagged with the grid, in row-major order', async () => {
    expect(g.cancelled).toBe(false);
    expect(g.cells.map((c) => [c.seed, c.sampler, c.grid])).toEqual([
      [5, 'ddim', { id: g.gridId, x: 0, y: 0 }],
      [6, 'ddim', { id: g.gridId, x: 1, y: 0 }],
      [5, 'euler', { id: g.gridId, x: 0, y: 1 }],
      [6, 'euler', { id: g.gridId, x: 1, y: 1 }],
    ]);
    const tagged = await s.api['gallery:query']({ tag: `grid:${g.gridId}` });
    expect(tagged.total).toBe(5); // four cells and the grid
    // each cell's PNG carries its grid position too
    const meta = readSampleMetadata(new Uint8Array(await fs.readFile(s.library.abs(g.cells[3].file))));
    expect(meta.problems).toEqual([]);
    expect(meta.record?.grid).toEqual({ id: g.gridId, x: 1, y: 1 });
  });

  it('makes each cell exactly what a plain generate with its settings makes', async () => {
    const plain = await s.api['sample:generate']({ runId, count: 1, seed: 6, sampler: 'euler', steps: 4 });
    const a = await pixels(s.library.abs(plain.samples[0].file));
    const b = await pixels(s.library.abs(g.cells[3].file));
    expect(b.equals(a)).toBe(true);
  });

  it('saves the grid image as a record of kind grid with its full recipe, in the row and in the PNG', async () => {
    const grid = g.grid!;
    expect(grid).toMatchObject({ kind: 'grid', id: g.gridId, grid: { id: g.gridId, cells: g.cells.map((c) => c.id) } });
    expect(grid.grid!.recipe).toEqual({
      base: { checkpointId: g.cells[0].checkpoint.id, seed: expect.any(Number), sampler: 'ddim', steps: 4, options: {} },
      x: { kind: 'seed', values: [5, 6] },
      y: { kind: 'sampler', values: ['ddim', 'euler'] },
    });
    expect((await s.api['gallery:get']({ id: grid.id })).sample).toEqual(grid);
    const bytes = new Uint8Array(await fs.readFile(s.library.abs(grid.file)));
    const meta = readSampleMetadata(bytes);
    expect(meta.problems).toEqual([]);
    expect(meta.record).toMatchObject({ kind: 'grid', grid: grid.grid });
    // labelled: the size of the layout with its label bands, and ink in the top band (the X labels)
    const layout = gridLayout({ imageSize: 8, xTitle: 'Seed', yTitle: 'Sampler', xValues: ['5', '6'], yValues: ['ddim', 'euler'] });
    expect([grid.width, grid.height]).toEqual([layout.width, layout.height]);
    const { data, info } = await sharp(Buffer.from(bytes)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let dark = 0;
    for (let y = 0; y < layout.top.height; y++) for (let x = 0; x < info.width; x++) if (data[(y * info.width + x) * 3] < 128) dark++;
    expect(dark).toBeGreaterThan(20);
    // a cell is drawn nearest-neighbour at the layout's scale
    const cell = layout.cells[3];
    const src = await pixels(s.library.abs(g.cells[3].file));
    const at = (x: number, y: number) => data[((cell.y + y) * info.width + cell.x + x) * 3];
    expect(at(0, 0)).toBe(src[0]);
    expect(at(layout.scale * 7 + 1, layout.scale * 7 + 1)).toBe(src[(7 * 8 + 7) * 3]);
  });

  it('reproduces a grid through its cells, and exports it like any sample', async () => {
    const r = await s.api['gallery:reproduce']({ id: g.gridId });
    expect(r).toMatchObject({ sampleId: g.gridId, identical: true, maxDiff: 0 });
    const out = join(lib.dir, 'export');
    const e = await s.api['gallery:export']({ ids: [g.gridId], to: out });
    expect(e.count).toBe(1);
    const exported = await fs.readFile(e.files[0].startsWith('/') ? e.files[0] : join(out, e.files[0]));
    expect(readSampleMetadata(new Uint8Array(exported)).record?.kind).toBe('grid');
  });

  it('refuses axis values the model cannot use, naming the axis and the value', async () => {
    const bad = await s.api['sample:grid']({ runId, steps: 4, x: { kind: 'seed', values: [1] }, y: { kind: 'spacing', values: ['leading', 'karras'] } }).catch((e: Error) => e);
    expect(String((bad as Error).message)).toMatch(/Y axis \(spacing\) value "karras"/);
    const missing = await s.api['sample:grid']({ runId, x: { kind: 'checkpoint', values: ['ckpt_nope'] }, y: { kind: 'seed', values: [1] } }).catch((e: Error) => e);
    expect(missing).toMatchObject({ code: 'not_found' });
    expect(String((missing as Error).message)).toMatch(/X axis \(checkpoint\): no checkpoint ckpt_nope/);
  });

  it('cancelling keeps the finished cells and writes no grid image', async () => {
    let cancelled = false;
    const r = await s.api['sample:grid'](
      { runId, x: { kind: 'seed', values: [1, 2, 3, 4] }, y: { kind: 'steps', values: [3, 400] } },
      {
        onProgress: (p) => {
          if (!cancelled && (p.sampleIds?.length ?? 0) >= 4) {
            cancelled = true;
            void s.api['jobs:cancel']({ id: p.jobId });
          }
        },
      },
    );
    expect(r.cancelled).toBe(true);
    expect(r.grid).toBeUndefined();
    expect(r.cells.map((c: SampleRecord) => c.steps)).toEqual([3, 3, 3, 3]);
    const tagged = await s.api['gallery:query']({ tag: `grid:${r.gridId}` });
    expect(tagged.samples.every((x) => x.kind !== 'grid')).toBe(true);
    expect(tagged.total).toBe(4);
  });

  it('the CLI makes a grid: sfumato sample grid --x … --y … --json (flags after grid are its own)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, '--data-dir', lib.dir, 'sample', 'grid', '--x', 'steps=2-3', '--y', 'seed=9', '--sampler', 'euler', '--run', runId, '--json'],
      { maxBuffer: 1 << 24 },
    );
    const r = JSON.parse(stdout) as GridResult;
    expect(r.cells.map((c) => [c.steps, c.seed, c.sampler])).toEqual([
      [2, 9, 'euler'],
      [3, 9, 'euler'],
    ]);
    expect(r.grid?.grid?.recipe).toMatchObject({ base: { sampler: 'euler' }, x: { kind: 'steps', values: [2, 3] }, y: { kind: 'seed', values: [9] } });
  });
});
