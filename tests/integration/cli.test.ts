/**
 * The `sfumato` command as a user runs it (bin/sfumato.mjs through tsx), on a fresh library folder
 * and real images: import -> train -> sample -> gallery list, with --json and exit codes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOJI_DIR, tempDir, runCli } from '../helpers/library';


let lib: ReturnType<typeof tempDir>;
/** a checkpoint trained by the pipeline test (the models export test uses it) */
let pipelineCheckpoint: string | undefined;
/** the run trained by the pipeline test (the runs rename/delete test uses it) */
let pipelineRun: string | undefined;

const sfumato = (args: string[]) => runCli(lib.dir, args);

/** With --json, stdout is exactly one JSON object. */
function json(out: string): Record<string, unknown> {
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

beforeAll(() => {
  lib = tempDir();
});
afterAll(() => lib.cleanup());

describe('sfumato CLI', () => {
  it('--help works and lists the commands', async () => {
    const r = await sfumato(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['datasets', 'train', 'sample', 'gallery', 'serve']) expect(r.out).toContain(c);
  });

  it('runs the pipeline: import -> train 3 steps -> sample 4 -> gallery list', async () => {
    const imp = await sfumato(['datasets', 'import', EMOJI_DIR, '--image-size', '16', '--json']);
    expect(imp.code).toBe(0);
    const ir = json(imp.out) as { dataset: { id: string }; imported: number; errors: { file: string; code: string }[] };
    expect(ir.dataset.id).toMatch(/^ds_/);
    expect(ir.imported).toBe(13);
    expect(ir.errors).toEqual([expect.objectContaining({ file: 'NOTICE.md', code: 'unsupported' })]);

    const tr = await sfumato([
      'train', '--dataset', ir.dataset.id, '--steps', '3', '--batch', '4', '--base-channels', '8',
      '--channel-mults', '1,2', '--attention', '8', '--groups', '4', '--seed', '11', '--json',
    ]);
    expect(tr.err).toContain('[train]');
    expect(tr.code).toBe(0);
    const run = (json(tr.out) as { run: { id: string; status: string; seed: number; step: number } }).run;
    expect(run).toMatchObject({ status: 'completed', seed: 11, step: 3 });
    expect(run.id).toMatch(/^run_/);
    pipelineRun = run.id;

    const sm = await sfumato(['sample', '--run', run.id, '--count', '4', '--seed', '100', '--steps', '4', '--json']);
    expect(sm.code).toBe(0);
    const samples = (json(sm.out) as { samples: { id: string; file: string; seed: number }[] }).samples;
    expect(samples.map((s) => s.seed)).toEqual([100, 101, 102, 103]);
    for (const s of samples) expect(existsSync(join(lib.dir, s.file))).toBe(true);

    const gl = await sfumato(['gallery', 'list', '--json']);
    expect(gl.code).toBe(0);
    const list = (json(gl.out) as { samples: Record<string, unknown>[] }).samples;
    expect(list).toHaveLength(4);
    for (const rec of list) {
      for (const k of ['id', 'file', 'seed', 'sampler', 'steps', 'schedule', 'checkpoint', 'runId', 'width', 'height', 'backend', 'createdAt']) {
        expect(rec).toHaveProperty(k);
      }
      expect(rec).toMatchObject({ sampler: 'ddim', steps: 4, runId: run.id, width: 16, height: 16 });
      expect((rec.checkpoint as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(list.map((s) => s.id).sort()).toEqual(samples.map((s) => s.id).sort());
    pipelineCheckpoint = (list[0].checkpoint as { id: string }).id;
  });

  it('models export writes a checkpoint as ONNX through the models:export channel, never over a file', async () => {
    expect(pipelineCheckpoint, 'the pipeline test trains the checkpoint').toBeDefined();
    const ckpt = pipelineCheckpoint!;
    const onnx = join(lib.dir, 'exported.onnx');
    const ex = await sfumato(['models', 'export', ckpt, '--out', onnx, '--json']);
    expect(ex.code).toBe(0);
    expect(json(ex.out)).toMatchObject({ file: onnx, checkpoint: ckpt });
    expect(existsSync(onnx)).toBe(true);
    const again = await sfumato(['models', 'export', ckpt, '--out', onnx]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/exported\.onnx exists; choose another file name/);
  });

  it('runs rename names a run everywhere; runs delete keeps the checkpoint gallery images came from', async () => {
    expect(pipelineRun, 'the pipeline test trains the run').toBeDefined();
    const id = pipelineRun!;
    const rn = await sfumato(['runs', 'rename', id, 'emoji first try', '--json']);
    expect(rn.code).toBe(0);
    expect(json(rn.out)).toMatchObject({ run: { id, name: 'emoji first try' } });
    expect((await sfumato(['runs', 'list'])).out).toContain('"emoji first try"');
    const del = await sfumato(['runs', 'delete', id]);
    expect(del.code).toBe(0);
    expect(del.out).toMatch(/deleted run run_\w+; kept 1 checkpoint\(s\) that gallery images came from/);
    expect((await sfumato(['runs', 'list'])).out).not.toContain(id);
    const again = await sfumato(['runs', 'delete', id]);
    expect(again.code).not.toBe(0);
    expect(again.err).toContain(`No run ${id}`);
  });

  it('bad usage and bad input exit with 2 and say what to do', async () => {
    const noDir = await sfumato(['datasets', 'import', join(lib.dir, 'does-not-exist'), '--json']);
    expect(noDir.code).not.toBe(0);
    expect(json(noDir.out)).toHaveProperty('error');
    const badFlag = await sfumato(['train', '--dataset', 'ds_x', '--steps', 'many']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toMatch(/--steps must be an integer/);
    const unknown = await sfumato(['frobnicate']);
    expect(unknown.code).toBe(2);
    const list = json((await sfumato(['datasets', 'list', '--json'])).out) as { datasets: { id: string }[] };
    const badCfg = await sfumato(['train', '--dataset', list.datasets[0].id, '--channel-mults', '', '--json']);
    expect(badCfg.code).toBe(2);
    expect((json(badCfg.out) as { error: { message: string } }).error.message).toMatch(/channelMults/);
    const cfgFile = join(lib.dir, 'cfg.json');
    writeFileSync(cfgFile, '{ not json');
    const badFile = await sfumato(['train', '--dataset', list.datasets[0].id, '--config', cfgFile]);
    expect(badFile.code).toBe(2);
    expect(badFile.err).toMatch(/cannot read it as JSON/);
  });

  it('imports a folder of real images mixed with broken files, naming every bad one', async () => {
    const dir = join(lib.dir, 'mixed');
    const { makeMixedFolder } = await import('../fixtures/datasets/mixed-folder');
    mkdirSync(dir, { recursive: true });
    const expected = await makeMixedFolder(dir);
    const r = await sfumato(['datasets', 'import', dir, '--image-size', '16', '--json']);
    expect(r.code).toBe(0);
    const out = json(r.out) as { imported: number; errors: { file: string; code: string; message: string }[] };
    expect(out.imported).toBe(expected.good.length);
    const named = new Map(out.errors.map((e) => [e.file, e.code]));
    expect(Object.keys(expected.bad).length).toBeGreaterThan(5);
    for (const [file, code] of Object.entries(expected.bad)) expect(named.get(file)).toBe(code);
    for (const e of out.errors) expect(e.message.length).toBeGreaterThan(10);
  });

  it('bench samplers writes OUT.json, dumps and an SVG; a bad spec exits 2 naming the field', async () => {
    const spec = join(lib.dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        mixture: { weights: [0.5, 0.5], means: [[-1, 0.5], [1, -0.5]], stds: [[0.3, 0.2], [0.2, 0.4]] },
        schedule: { kind: 'edm', sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 },
        samplers: [{ name: 'dpmpp-2m', steps: 8, sigmas: 'karras' }, { name: 'heun', steps: 8 }],
        n: 64,
        seed: 0,
      }),
    );
    const outFile = join(lib.dir, 'bench-out.json');
    const dump = join(lib.dir, 'dump');
    const r = await sfumato(['bench', 'samplers', '--spec', spec, '--out', outFile, '--dump', dump, '--json']);
    expect(r.code).toBe(0);
    const { readFileSync, readdirSync } = await import('node:fs');
    const out = JSON.parse(readFileSync(outFile, 'utf8')) as { results: { name: string; nfe: number; space: string; sigmas: number[]; start: string; final: string }[] };
    expect(out.results.map((x) => x.name)).toEqual(['dpmpp-2m', 'heun']);
    expect(out.results[0]).toMatchObject({ nfe: 8, space: 've' });
    expect(out.results[0].sigmas.at(-1)).toBe(0);
    expect(readdirSync(dump)).toEqual(expect.arrayContaining([out.results[0].start, out.results[0].final]));
    expect(readFileSync(join(dump, out.results[0].start)).length).toBe(64 * 2 * 4);
    expect(readFileSync(outFile.replace(/\.json$/, '.svg'), 'utf8')).toContain('<svg');
    for (const [bad, field] of [
      [{ weights: [1.2], means: [[0]], stds: [[1]] }, 'mixture.weights'],
      [{ weights: [1], means: [[0]], stds: [[-1]] }, 'mixture.stds'],
    ] as const) {
      writeFileSync(spec, JSON.stringify({ mixture: bad, schedule: { kind: 'ddim' }, samplers: [{ name: 'ddim', steps: 2 }], n: 4, seed: 0 }));
      const e = await sfumato(['bench', 'samplers', '--spec', spec, '--out', outFile]);
      expect(e.code).toBe(2);
      expect(e.err).toContain(field);
    }
    writeFileSync(spec, JSON.stringify({ mixture: { weights: [1], means: [[0]], stds: [[1]] }, schedule: { kind: 've', sigmaMin: 0.01, sigmaMax: 50 }, samplers: [{ name: 'ddim', steps: 2 }], n: 4, seed: 0 }));
    const ve = await sfumato(['bench', 'samplers', '--spec', spec, '--out', outFile]);
    expect(ve.code).toBe(2);
    expect(ve.err).toMatch(/ddim needs a VP-type schedule/);
  });

  it('bench train --rounds: one line per round inside the result, the median step time; a bad count exits 2', async () => {
    const bad = await sfumato(['bench', 'train', '--rounds', '0', '--no-torch']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--rounds must be an integer from 1 to 20, got 0/);
    const r = await sfumato(['bench', 'train', '--rounds', '2', '--no-torch', '--batch', '2', '--steps', '1', '--warmup', '0']);
    expect(r.code, r.err).toBe(0);
    const line = JSON.parse(r.out.trim().split('\n').pop()!) as { rounds: { ours_s: number }[]; train_step_s: number; ratio_torch_over_ours?: number };
    expect(line.rounds).toHaveLength(2);
    expect(line.train_step_s).toBeCloseTo((line.rounds[0].ours_s + line.rounds[1].ours_s) / 2, 10);
    expect(line.ratio_torch_over_ours).toBeUndefined();
  }, 120_000);
});
