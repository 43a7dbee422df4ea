/**
 * Issue 11, item 9: a per-kind cap on job processes. Jobs beyond the cap wait with state `queued`
 * (jobs:list, progress events, the run's status), start in the order they were queued, and a
 * cancelled queued job never starts. Real job processes, a real SQLite file, tiny models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo, JobProgress } from '../../src-main/api/types';
import { Sfumato } from '../../src-main/services/sfumato';
import { EMOJI_DIR, TINY_CONFIG, tempDir } from '../helpers/library';
import { until, serviceOpener, tinyTrainedRun } from '../helpers/faults';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let datasetId: string;
let runId: string;
const services = serviceOpener(() => lib.dir, 'web');
const open = services.open;

/** Records which jobs started, in order, and the most job processes alive at once. */
function watch(x: Sfumato) {
  const started: string[] = [];
  const queued: string[] = [];
  let maxRunning = 0;
  const progress: JobProgress[] = [];
  x.jobs.on('job-started', (info: JobInfo) => {
    started.push(info.id);
    maxRunning = Math.max(maxRunning, x.jobs.list().filter((j) => j.state === 'running').length);
  });
  x.jobs.on('job-queued', (info: JobInfo) => queued.push(info.id));
  x.events.on('jobs:progress', (p: JobProgress) => progress.push(p));
  return { started, queued, progress, maxRunning: () => maxRunning };
}

beforeAll(async () => {
  lib = tempDir('sfumato-queue-');
  s = await open();
  ({ datasetId, runId } = await tinyTrainedRun(s));
});

afterAll(async () => {
  await services.closeAll();
  lib?.cleanup();
});

describe('job concurrency cap', () => {
  it('five sampling jobs: at most two run at once, three are queued (visible), all finish, in queue order', async () => {
    const w = watch(s);
    const calls = [0, 1, 2, 3, 4].map((i) => s.api['sample:generate']({ runId, count: 2, seed: 10 * i, steps: 2 }));
    // While the first two run, the other three are listed as queued, without a process.
    const waiting = await until('three queued jobs', () => {
      const q = s.jobs.list().filter((j) => j.state === 'queued');
      return q.length === 3 && q;
    });
    expect(waiting.every((j) => j.kind === 'sample')).toBe(true);
    for (const j of waiting) expect(s.jobs.get(j.id)?.pid).toBeUndefined();
    const results = await Promise.all(calls);
    for (const r of results) {
      expect(r.cancelled).toBe(false);
      expect(r.samples).toHaveLength(2);
    }
    expect(w.maxRunning()).toBe(2);
    expect(w.started).toHaveLength(5);
    expect(w.queued).toHaveLength(3);
    // Queued jobs start first-in, first-out.
    expect(w.started.slice(2)).toEqual(w.queued);
    // The UI and CLI see the queued state in the progress stream, with a reason.
    for (const id of w.queued) {
      const first = w.progress.find((p) => p.jobId === id)!;
      expect(first.state).toBe('queued');
      expect(first.message).toMatch(/waiting for another sampling job/);
      expect(w.progress.filter((p) => p.jobId === id).at(-1)!.state).toBe('completed');
    }
    expect(s.jobs.list()).toEqual([]);
  });

  it('cancelling a queued sampling job removes it from the queue; it never starts', async () => {
    const one = await open({ jobLimits: { sample: 1 } });
    const w = watch(one);
    const a = one.api['sample:generate']({ runId, count: 2, seed: 1, steps: 2 });
    const b = one.api['sample:generate']({ runId, count: 2, seed: 2, steps: 2 });
    const queued = await until('a queued job', () => one.jobs.list().find((j) => j.state === 'queued'));
    expect(await one.api['jobs:cancel']({ id: queued.id })).toEqual({ cancelled: true });
    // (Which call queues depends on which reached the manager first.)
    const results = await Promise.all([a, b]);
    const dropped = results.find((r) => r.jobId === queued.id)!;
    const ran = results.find((r) => r.jobId !== queued.id)!;
    expect(dropped.cancelled).toBe(true);
    expect(dropped.samples).toEqual([]);
    expect(ran.cancelled).toBe(false);
    expect(ran.samples).toHaveLength(2);
    expect(w.started).toEqual([ran.jobId]);
  });

  it('a second training run waits queued (run status and jobs:list), a cancelled queued run never starts, the next one runs after', async () => {
    const w = watch(s);
    const config = { ...TINY_CONFIG, steps: 3, checkpointEvery: 3, workers: 1 };
    const first = await s.startRun({ datasetId, seed: 11, config });
    const second = await s.startRun({ datasetId, seed: 12, config });
    const third = await s.startRun({ datasetId, seed: 13, config });
    expect(second.run.status).toBe('queued');
    expect(third.run.status).toBe('queued');
    expect(s.jobs.list().filter((j) => j.kind === 'train').map((j) => [j.runId, j.state])).toEqual([
      [first.run.id, 'running'],
      [second.run.id, 'queued'],
      [third.run.id, 'queued'],
    ]);
    const cancelled = await s.api['runs:cancel']({ id: second.run.id });
    expect(cancelled.run.status).toBe('cancelled');
    expect(cancelled.run.step).toBe(0);
    expect((await first.done).status).toBe('completed');
    const last = await third.done;
    expect(last.status).toBe('completed');
    expect(last.step).toBe(3);
    expect(w.started).toHaveLength(2);
    expect(w.progress.find((p) => p.runId === third.run.id)?.state).toBe('queued');
    expect((await s.store.runs.get(second.run.id))?.status).toBe('cancelled');
  });
});
