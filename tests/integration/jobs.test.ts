/**
 * The job runner through the service layer: real job processes (child_process.fork), a real
 * SQLite file, real training of a tiny UNet on real images.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { Db } from '../../src-main/db/db';
import { EMOJI_DIR, TINY_CONFIG, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let datasetId: string;

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  const r = await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 });
  datasetId = r.dataset.id;
});

afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

function jobOf(runId: string) {
  const info = s.jobs.list().find((j) => j.runId === runId);
  return info && s.jobs.get(info.id);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('job runner', () => {
  it('trains in a separate process, reports progress and ends completed with a checkpoint and a preview with its copying check', async () => {
    const progress: number[] = [];
    const copying: unknown[] = [];
    const onP = (p: { kind: string; done: number; memorisation?: unknown }) => {
      if (p.kind === 'train' && p.done > 0) progress.push(p.done);
      if (p.memorisation) copying.push(p.memorisation);
    };
    s.events.on('jobs:progress', onP);
    const { run, done } = await s.startRun({ datasetId, seed: 3, config: { ...TINY_CONFIG, steps: 3, checkpointEvery: 2, previewEvery: 3 } });
    expect(jobOf(run.id)?.pid).not.toBe(process.pid);
    const final = await done;
    s.events.off('jobs:progress', onP);
    expect(final.error).toBeNull();
    expect(final.status).toBe('completed');
    expect(final.step).toBe(3);
    expect(final.backend).toBeTruthy();
    expect(progress).toContain(3);
    const ckpts = await s.store.checkpoints.list(run.id);
    expect(ckpts.map((c) => c.step)).toEqual([2, 3]);
    expect(ckpts[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    const losses = await s.store.runs.losses(run.id);
    expect(losses.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(losses.every((l) => Number.isFinite(l.loss) && l.loss > 0)).toBe(true);
    // the preview at step 3 carries the copying signal (training/memorisation.ts), live and stored
    const previews = await s.store.runs.previews(run.id);
    expect(previews.map((p) => p.step)).toEqual([3]);
    const m = previews[0].memorisation!;
    expect(m.nnRatio).toBeGreaterThan(0);
    expect(m.copyShare).toBeGreaterThanOrEqual(0);
    expect(m.copyShare).toBeLessThanOrEqual(1);
    expect(copying).toEqual([m]);
    // every image trained on: no held-out images, no held-out check
    expect(previews[0].heldOut).toBeUndefined();
  });

  it('kill -9 of the job after a checkpoint: the run becomes interrupted and the DB stays intact', async () => {
    const { run, done } = await s.startRun({ datasetId, seed: 4, config: { ...TINY_CONFIG, steps: 10_000, checkpointEvery: 1 } });
    await until('a checkpoint', async () => (await s.store.checkpoints.count(run.id)) > 0);
    const job = jobOf(run.id)!;
    process.kill(job.pid!, 'SIGKILL');
    const final = await done;
    expect(final.status).toBe('interrupted');
    expect(final.error).toMatch(/killed \(SIGKILL\)/);
    expect(await s.store.db.integrityCheck()).toBe('ok');
    // A second connection (another process would see the same) finds a consistent file.
    const other = await Db.open(s.library.dbFile);
    expect(await other.integrityCheck()).toBe('ok');
    await other.close();
  });

  it('kill -9 before any checkpoint: the run becomes failed', async () => {
    const { run, done } = await s.startRun({ datasetId, seed: 5, config: { ...TINY_CONFIG, steps: 10_000, checkpointEvery: 10_000 } });
    await until('the job to start', async () => (await s.store.runs.get(run.id))?.status === 'running');
    process.kill(jobOf(run.id)!.pid!, 'SIGKILL');
    const final = await done;
    expect(final.status).toBe('failed');
    expect(await s.store.checkpoints.count(run.id)).toBe(0);
    expect(await s.store.db.integrityCheck()).toBe('ok');
  });

  it('cancel stops the job: the run becomes cancelled', async () => {
    const { run, done } = await s.startRun({ datasetId, seed: 6, config: { ...TINY_CONFIG, steps: 10_000, checkpointEvery: 10_000 } });
    await until('the first step', async () => ((await s.store.runs.get(run.id))?.step ?? 0) >= 1);
    const cancelled = await s.api['runs:cancel']({ id: run.id });
    expect(cancelled.run.status).toBe('cancelled');
    expect((await done).status).toBe('cancelled');
  });

  // backend onnxruntime: the one-graph engine (state in ORT, synced to tfjs for checkpoints)
  it.each([['auto'], ['onnxruntime']] as const)('a run killed with SIGKILL after a checkpoint, then resumed, ends like an uninterrupted run (backend %s)', async (backend) => {
    const config = { ...TINY_CONFIG, steps: 6, checkpointEvery: 2, dropout: 0.1, gradAccum: backend === 'onnxruntime' ? 2 : 1, backend };
    const straight = await s.startRun({ datasetId, seed: 9, config });
    const u = await straight.done;
    expect(u.status).toBe('completed');
    if (backend === 'onnxruntime') expect(u.backend).toMatch(/^onnxruntime/);
    const { run, done } = await s.startRun({ datasetId, seed: 9, config });
    await until('a checkpoint', async () => (await s.store.checkpoints.count(run.id)) > 0);
    process.kill(jobOf(run.id)!.pid!, 'SIGKILL');
    expect((await done).status).toBe('interrupted');
    const resumed = await s.resumeRun(run.id);
    expect(resumed.run.step).toBeGreaterThanOrEqual(2);
    expect((await resumed.done).status).toBe('completed');
    const a = (await s.api['runs:get']({ id: u.id })).run;
    const b = (await s.api['runs:get']({ id: run.id })).run;
    expect(b.losses.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.losses).toEqual(a.losses);
    expect(b.weightsDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(b.weightsDigest).toBe(a.weightsDigest);
  });

  it('a run left running by a dead process is recovered at the next start', async () => {
    const ghost = await s.store.runs.insert({ id: 'run_ghost', datasetId, config: (await s.store.runs.list())[0].config, seed: 1 });
    await s.store.runs.setStatus(ghost.id, 'running', { pid: 2 ** 22 + 12345 });
    const lib2 = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
    expect((await lib2.store.runs.get('run_ghost'))?.status).toBe('failed');
    await lib2.close();
  });

  it('samples from the trained run in a job process and records every parameter', async () => {
    const runs = await s.store.runs.list();
    const completed = runs.find((r) => r.status === 'completed')!;
    const r = await s.api['sample:generate']({ runId: completed.id, count: 2, seed: 42, steps: 3 });
    expect(r.cancelled).toBe(false);
    expect(r.samples.map((x) => x.seed)).toEqual([42, 43]);
    const ckpt = await s.store.checkpoints.latest(completed.id);
    for (const rec of r.samples) {
      expect(rec).toMatchObject({ sampler: 'ddim', steps: 3, width: 16, height: 16, runId: completed.id, checkpoint: { id: ckpt!.id, sha256: ckpt!.sha256 } });
      expect(rec.schedule).toMatchObject({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
    }
    const again = await s.api['sample:generate']({ runId: completed.id, count: 1, seed: 42, steps: 3 });
    // Same seed, checkpoint and settings: identical pixels (the files differ only in their metadata).
    const { default: sharp } = await import('sharp');
    const px = (rel: string) => sharp(s.library.abs(rel)).raw().toBuffer();
    expect((await px(again.samples[0].file)).equals(await px(r.samples[0].file))).toBe(true);
  });
});
