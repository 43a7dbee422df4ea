/**
 * Likelihood of your own model, end to end through the `sfumato` command (real library, real
 * training job, real likelihood jobs on ONNX Runtime): a tiny model trained on the emoji fixtures
 * plus a pure-noise image and a constant-colour image; `datasets outliers` ranks the noise image
 * first; `eval likelihood` gives a VLB no lower than the PF-ODE estimate beyond 3 standard errors;
 * a gallery image's typicality is stored with it; --json shapes are pinned; bad input fails before
 * any compute with a message naming the problem.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOJI_DIR, tempDir, runCli } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let datasetId = '';
let runId = '';

const sfumato = (args: string[]) => runCli(lib.dir, args);

function json<T>(out: string): T {
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as T;
}

beforeAll(async () => {
  lib = tempDir();
  const dir = join(lib.dir, 'images');
  mkdirSync(dir);
  for (const f of readdirSync(EMOJI_DIR).filter((f) => f.endsWith('.png'))) copyFileSync(join(EMOJI_DIR, f), join(dir, f));
  // a pure-noise image (seeded) and a constant-colour image, at the training size
  const noise = Buffer.alloc(16 * 16 * 3);
  let s = 12345;
  for (let i = 0; i < noise.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    noise[i] = s >>> 24;
  }
  await sharp(noise, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, 'zz-noise.png'));
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toFile(join(dir, 'zz-flat.png'));
  const imp = await sfumato(['datasets', 'import', dir, '--image-size', '16', '--json']);
  expect(imp.code, imp.err).toBe(0);
  datasetId = json<{ dataset: { id: string } }>(imp.out).dataset.id;
  const tr = await sfumato([
    'train', '--dataset', datasetId, '--steps', '400', '--batch', '8', '--base-channels', '8', '--channel-mults', '1,2',
    '--attention', '', '--groups', '4', '--seed', '3', '--lr', '1e-3', '--checkpoint-every', '400', '--json',
  ]);
  expect(tr.code, tr.err).toBe(0);
  runId = json<{ run: { id: string } }>(tr.out).run.id;
}, 600_000);
afterAll(() => lib?.cleanup());

describe('sfumato eval likelihood / datasets outliers', () => {
  it('datasets outliers ranks the pure-noise image first (least typical), with a pinned --json shape', async () => {
    const r = await sfumato(['datasets', 'outliers', datasetId, '--run', runId, '--top', '15', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('[likelihood]');
    const o = json<Record<string, unknown> & { outliers: { file: string; bitsPerDim: number; rank: number }[] }>(r.out);
    expect(Object.keys(o).sort()).toEqual(['checkpoint', 'datasetId', 'jobId', 'meanBitsPerDim', 'method', 'modelId', 'outliers', 'runId', 'scored', 'wallSeconds']);
    expect(o).toMatchObject({ datasetId, runId, modelId: null, method: 'pf-ode', scored: 15 });
    expect(Object.keys(o.outliers[0]).sort()).toEqual(['bitsPerDim', 'datasetItemId', 'file', 'index', 'rank']);
    expect(o.outliers[0].file).toBe('zz-noise.png');
    expect(o.outliers.map((x) => x.rank)).toEqual(o.outliers.map((_, i) => i + 1));
    // the constant image sits in the typical half (likelihood favours simple images)
    expect(o.outliers.findIndex((x) => x.file === 'zz-flat.png')).toBeGreaterThan(7);
  }, 600_000);

  it('eval likelihood: both methods, VLB >= PF-ODE - 3 standard errors, pinned shape', async () => {
    const r = await sfumato(['eval', 'likelihood', '--run', runId, '--method', 'both', '--n', '8', '--probes', '2', '--seed', '1', '--json']);
    expect(r.code, r.err).toBe(0);
    const e = json<Record<string, unknown> & { results: { method: string; bitsPerDim: number; stdErr: number; nfe: number; data: string }[]; perImage: { file: string; datasetItemId: string; bitsPerDim: Record<string, number> }[] }>(r.out);
    expect(Object.keys(e).sort()).toEqual(['backend', 'batch', 'cancelled', 'checkpoint', 'datasetId', 'images', 'jobId', 'modelId', 'n', 'perImage', 'probes', 'results', 'runId', 'seed', 'wallSeconds']);
    expect(e).toMatchObject({ runId, datasetId, images: 'sample', n: 8, probes: 2, seed: 1, cancelled: false });
    const [pf, vlb] = e.results;
    expect(pf).toMatchObject({ method: 'pf-ode', data: 'dequantised' });
    expect(vlb).toMatchObject({ method: 'vlb', data: 'discrete' });
    expect(Object.keys(pf).sort()).toEqual(['bitsPerDim', 'data', 'method', 'nfe', 'stdErr']);
    expect(vlb.bitsPerDim).toBeGreaterThan(pf.bitsPerDim - 3 * Math.hypot(pf.stdErr, vlb.stdErr));
    expect(e.perImage).toHaveLength(8);
    expect(Object.keys(e.perImage[0].bitsPerDim).sort()).toEqual(['pf-ode', 'vlb']);
    // seeded: the same call gives the same numbers
    const again = json<typeof e>((await sfumato(['eval', 'likelihood', '--run', runId, '--method', 'pf-ode', '--n', '8', '--probes', '2', '--seed', '1', '--json'])).out);
    expect(again.results[0].bitsPerDim).toBe(pf.bitsPerDim);
    // the number does not move with --n beyond its error bar
    const all = json<typeof e>((await sfumato(['eval', 'likelihood', '--run', runId, '--method', 'pf-ode', '--n', '15', '--probes', '2', '--seed', '1', '--json'])).out);
    expect(all.images).toBe('all');
    expect(Math.abs(all.results[0].bitsPerDim - pf.bitsPerDim)).toBeLessThan(3 * Math.hypot(pf.stdErr, all.results[0].stdErr));
  }, 600_000);

  it('gallery typicality is computed and stored with the sample', async () => {
    const sm = await sfumato(['sample', '--run', runId, '--count', '1', '--seed', '7', '--steps', '4', '--json']);
    expect(sm.code, sm.err).toBe(0);
    const id = json<{ samples: { id: string }[] }>(sm.out).samples[0].id;
    const t = await sfumato(['gallery', 'typicality', id, '--probes', '1', '--json']);
    expect(t.code, t.err).toBe(0);
    const ty = json<{ typicality: { sampleId: string; bitsPerDim: number; method: string } }>(t.out).typicality;
    expect(ty).toMatchObject({ sampleId: id, method: 'pf-ode' });
    expect(ty.bitsPerDim).toBeGreaterThan(0);
    const show = await sfumato(['gallery', 'show', id, '--json']);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toContain(String(ty.bitsPerDim));
  }, 600_000);

  it('bad input fails before any compute, naming the problem', async () => {
    const unknown = await sfumato(['eval', 'likelihood', '--run', 'run_nope', '--json']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/No run run_nope/);
    const held = await sfumato(['eval', 'likelihood', '--run', runId, '--held-out']);
    expect(held.code).toBe(2);
    expect(held.err).toMatch(/has no held-out split.*exclude some images/s);
    expect(held.err).not.toContain('[likelihood]');
    const zero = await sfumato(['eval', 'likelihood', '--run', runId, '--n', '0']);
    expect(zero.code).toBe(2);
    expect(zero.err).toMatch(/n must be at least 1/);
    const size = await sfumato(['eval', 'likelihood', '--model', 'emoji-32', '--dataset', datasetId]);
    expect(size.code).toBe(2);
    expect(size.err).toMatch(/prepared at 16 px but the model works at 32 px/);
    expect(size.err).not.toContain('[likelihood]');
    const noModel = await sfumato(['datasets', 'outliers', datasetId]);
    expect(noModel.code).toBe(2);
    expect(noModel.err).toMatch(/which model/);
  }, 600_000);
});
