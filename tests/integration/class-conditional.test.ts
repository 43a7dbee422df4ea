/**
 * Class-conditional training and classifier-free guidance through the `sfumato` command (issue 14,
 * item 1): import a folder whose subfolders are classes -> train a class-conditional model a few
 * steps -> sample a class with guidance -> the gallery record and PNG infotext carry class and
 * scale -> reproduce is identical; bad values fail before any compute with exit 2; a class rename
 * on the dataset leaves the run's recorded labels alone.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseA1111Parameters, readSampleMetadata } from '../../src-main/gallery/metadata';
import { EMOJI_DIR, tempDir, runCli } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let src: ReturnType<typeof tempDir>;

const sfumato = (args: string[]) => runCli(lib.dir, args);
const json = <T>(out: string): T => {
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as T;
};

const CLASSES: Record<string, string[]> = {
  animals: ['cat-face', 'dog-face', 'fox-face', 'owl'],
  food: ['doughnut', 'red-apple', 'slice-of-pizza', 'tangerine'],
  plants: ['cherry-blossom', 'four-leaf-clover', 'hibiscus'],
};

beforeAll(() => {
  lib = tempDir();
  src = tempDir();
  for (const [cls, files] of Object.entries(CLASSES)) {
    mkdirSync(join(src.dir, cls));
    for (const f of files) copyFileSync(join(EMOJI_DIR, `${f}.png`), join(src.dir, cls, `${f}.png`));
  }
  // directly in the folder: unlabelled (trained as the null class)
  copyFileSync(join(EMOJI_DIR, 'rainbow.png'), join(src.dir, 'rainbow.png'));
});
afterAll(() => {
  lib.cleanup();
  src.cleanup();
});

describe('class-conditional CLI', () => {
  it('import --labels subfolders -> train --class-conditional -> sample --class --guidance -> reproduce identical', async () => {
    const imp = await sfumato(['datasets', 'import', src.dir, '--image-size', '8', '--labels', 'subfolders', '--json']);
    expect(imp.code).toBe(0);
    const ir = json<{ dataset: { id: string; labels: string; classes: { name: string; count: number }[] }; imported: number; classes: { name: string; count: number }[] }>(imp.out);
    expect(ir.imported).toBe(12);
    expect(ir.classes).toEqual([
      { name: 'animals', count: 4 },
      { name: 'food', count: 4 },
      { name: 'plants', count: 3 },
    ]);
    expect(ir.dataset.labels).toBe('subfolders');
    const ds = ir.dataset.id;

    // bad values fail before any compute (exit 2, the field named)
    const badDrop = await sfumato(['train', '--dataset', ds, '--class-conditional', '--cond-dropout', '1.5', '--steps', '1', '--json']);
    expect(badDrop.code).toBe(2);
    expect(badDrop.err).toMatch(/condDropout \(--cond-dropout\) must be a number in \[0, 1\)/);

    const tr = await sfumato([
      'train', '--dataset', ds, '--class-conditional', '--cond-dropout', '0.2', '--steps', '3', '--batch', '4', '--base-channels', '8',
      '--channel-mults', '1,2', '--attention', '4', '--groups', '4', '--seed', '5', '--json',
    ]);
    expect(tr.code, tr.err).toBe(0);
    const r = json<{ run: { id: string; status: string; config: { classConditional: boolean; condDropout: number; classes: string[] } } }>(tr.out).run;
    expect(r.status).toBe('completed');
    expect(r.config).toMatchObject({ classConditional: true, condDropout: 0.2, classes: ['animals', 'food', 'plants'] });

    const unknown = await sfumato(['sample', '--run', r.id, '--class', 'birds', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Unknown class "birds"; this model's classes are animals, food, plants/);
    const negative = await sfumato(['sample', '--run', r.id, '--class', 'food', '--guidance', '-1', '--json']);
    expect(negative.code).toBe(2);
    expect(negative.err).toMatch(/guidance must be a number ≥ 0/);

    const sm = await sfumato(['sample', '--run', r.id, '--class', 'food', '--guidance', '3', '--count', '2', '--seed', '40', '--steps', '4', '--json']);
    expect(sm.code, sm.err).toBe(0);
    const samples = json<{ samples: { id: string; file: string; guidance: { class: string; classIndex: number; scale: number } }[] }>(sm.out).samples;
    expect(samples).toHaveLength(2);
    expect(samples[0].guidance).toEqual({ class: 'food', classIndex: 1, scale: 3 });
    const meta = readSampleMetadata(new Uint8Array(readFileSync(join(lib.dir, samples[0].file))));
    expect(meta.record?.guidance).toEqual({ class: 'food', classIndex: 1, scale: 3 });
    const params = parseA1111Parameters(meta.parametersText!).params;
    expect(params['CFG scale']).toBe('3');
    expect(params.Class).toBe('food');

    const gl = json<{ samples: { id: string; guidance?: unknown }[] }>((await sfumato(['gallery', 'list', '--json'])).out).samples;
    expect(gl.find((s) => s.id === samples[0].id)?.guidance).toEqual({ class: 'food', classIndex: 1, scale: 3 });

    const rp = await sfumato(['reproduce', samples[0].id, '--json']);
    expect(rp.code, rp.err).toBe(0);
    expect(json<{ identical: boolean }>(rp.out).identical).toBe(true);

    // W = 1 and W = 3 give different images from the same seed (the unconditional half matters)
    const w1 = await sfumato(['sample', '--run', r.id, '--class', 'food', '--guidance', '1', '--count', '1', '--seed', '40', '--steps', '4', '--json']);
    expect(w1.code).toBe(0);
    const f1 = readFileSync(join(lib.dir, json<{ samples: { file: string }[] }>(w1.out).samples[0].file));
    expect(Buffer.compare(f1, readFileSync(join(lib.dir, samples[0].file)))).not.toBe(0);

    // an X/Y grid of classes x guidance scales; a class the model lacks is refused naming the axis
    const gr = await sfumato(['sample', 'grid', '--run', r.id, '--x', 'class=animals,food', '--y', 'guidance=1,3', '--steps', '3', '--seed', '7', '--json']);
    expect(gr.code, gr.err).toBe(0);
    const grid = json<{ cells: { guidance: { class: string; scale: number } }[]; grid: { file: string } }>(gr.out);
    expect(grid.cells.map((c) => [c.guidance.class, c.guidance.scale])).toEqual([
      ['animals', 1],
      ['food', 1],
      ['animals', 3],
      ['food', 3],
    ]);
    expect(readFileSync(join(lib.dir, grid.grid.file)).length).toBeGreaterThan(0);
    const badGrid = await sfumato(['sample', 'grid', '--run', r.id, '--x', 'class=animals,birds', '--y', 'seed=1,2', '--steps', '3', '--json']);
    expect(badGrid.code).toBe(2);
    expect(badGrid.err).toMatch(/X axis \(class\) value "birds" does not work with this model: Unknown class "birds"/);

    // export to ONNX (class input, classes in the metadata) -> import -> sample a class from it
    const ckpt = json<{ samples: { checkpoint: { id: string } }[] }>(sm.out).samples[0].checkpoint.id;
    const onnxFile = join(src.dir, 'cond.onnx');
    const ex = await sfumato(['models', 'export', ckpt, '--out', onnxFile, '--json']);
    expect(ex.code, ex.err).toBe(0);
    const im = await sfumato(['models', 'import', onnxFile, '--prediction', 'eps', '--schedule', 'linear', '--json']);
    expect(im.code, im.err).toBe(0);
    const model = json<{ model: { id: string; signature: { classes: string[] } } }>(im.out).model;
    expect(model.signature.classes).toEqual(['animals', 'food', 'plants']);
    const fromOnnx = await sfumato(['sample', '--model', model.id, '--class', 'plants', '--guidance', '2', '--count', '1', '--seed', '3', '--steps', '3', '--json']);
    expect(fromOnnx.code, fromOnnx.err).toBe(0);
    expect(json<{ samples: { guidance: unknown }[] }>(fromOnnx.out).samples[0].guidance).toEqual({ class: 'plants', classIndex: 2, scale: 2 });

    // renaming / merging a class changes the dataset, not the run's recorded labels
    const mv = await sfumato(['datasets', 'rename-class', ds, 'plants', 'food', '--json']);
    expect(mv.code).toBe(0);
    expect(json<{ dataset: { classes: { name: string; count: number }[] } }>(mv.out).dataset.classes).toEqual([
      { name: 'animals', count: 4 },
      { name: 'food', count: 7 },
    ]);
    const missing = await sfumato(['datasets', 'rename-class', ds, 'plants', 'x', '--json']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/has no class "plants"; its classes are animals, food/);
  }, 600_000);

  it('--class and --guidance on an unconditional model, and --class-conditional on an unlabelled dataset, are refused', async () => {
    const imp = await sfumato(['datasets', 'import', EMOJI_DIR, '--image-size', '8', '--json']);
    const ds = json<{ dataset: { id: string; classes: unknown[] } }>(imp.out).dataset;
    expect(ds.classes).toEqual([]);
    const cc = await sfumato(['train', '--dataset', ds.id, '--class-conditional', '--batch', '2', '--steps', '1', '--json']);
    expect(cc.code).toBe(2);
    expect(cc.err).toMatch(/has no class labels; import its folder with --labels subfolders/);
    const tr = await sfumato(['train', '--dataset', ds.id, '--steps', '1', '--batch', '2', '--base-channels', '8', '--channel-mults', '1,2', '--attention', '4', '--groups', '4', '--json']);
    expect(tr.code, tr.err).toBe(0);
    const runId = json<{ run: { id: string } }>(tr.out).run.id;
    const r1 = await sfumato(['sample', '--run', runId, '--class', 'food', '--json']);
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/not class-conditional; --class needs a model trained with --class-conditional/);
    const r2 = await sfumato(['sample', '--run', runId, '--guidance', '2', '--json']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/nothing to guide/);
  }, 600_000);
});
