/**
 * The job manager (src-main/jobs/manager.ts) with a fake JobLauncher: no child processes, each
 * "process" is an object the test drives (messages in, exit), so queueing, cancelling, crashes and
 * shutdown are exercised exactly and fast.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobManager, type JobOutcome } from '../../../src-main/jobs/manager';
import type { JobLauncher, JobProcess } from '../../../src-main/jobs/launcher';
import type { FromJob, JobSpec, ToJob } from '../../../src-main/jobs/protocol';

/** A job process the test controls. `kill` ends it (as a real process would) unless told not to. */
class FakeProc implements JobProcess {
  static nextPid = 1000;
  readonly pid = FakeProc.nextPid++;
  readonly sent: ToJob[] = [];
  readonly kills: (NodeJS.Signals | undefined)[] = [];
  exited = false;
  private msgCb?: (msg: FromJob) => void;
  private exitCb?: (code: number | null, signal: string | null) => void;
  constructor(private readonly exitOnKill: boolean) {}
  send(msg: ToJob): void {
    this.sent.push(msg);
  }
  onMessage(cb: (msg: FromJob) => void): void {
    this.msgCb = cb;
  }
  onExit(cb: (code: number | null, signal: string | null) => void): void {
    this.exitCb = cb;
  }
  kill(signal?: NodeJS.Signals): void {
    this.kills.push(signal);
    if (this.exitOnKill) queueMicrotask(() => this.exit(null, signal ?? 'SIGTERM'));
  }
  /** the job process posts a message */
  post(msg: FromJob): void {
    this.msgCb!(msg);
  }
  exit(code: number | null, signal: string | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCb!(code, signal);
  }
  /** the spec the manager started this process with */
  get spec(): JobSpec | undefined {
    const start = this.sent.find((m) => m.type === 'start');
    return start?.type === 'start' ? start.spec : undefined;
  }
}

function fakeLauncher(opts: { exitOnKill?: boolean } = {}): { launcher: JobLauncher; procs: FakeProc[] } {
  const procs: FakeProc[] = [];
  const launcher: JobLauncher = () => {
    const p = new FakeProc(opts.exitOnKill ?? true);
    procs.push(p);
    return p;
  };
  return { launcher, procs };
}

const train = (runId: string, extra: Partial<JobSpec> = {}): JobSpec => ({ kind: 'train', runId, ...extra }) as unknown as JobSpec;
const sample = (jobId: string): JobSpec => ({ kind: 'sample', jobId }) as unknown as JobSpec;
const exportSpec = (jobId: string): JobSpec => ({ kind: 'export', jobId }) as unknown as JobSpec;
const ignore = () => undefined;
/** Let queued microtasks and promise chains settle (no timers involved). */
const settle = () => new Promise<void>((r) => setImmediate(r));
/** A job that ends normally: `done`, then the process exits 0. */
async function complete(p: FakeProc): Promise<void> {
  p.post({ type: 'done', cancelled: false });
  p.exit(0);
  await settle();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('job manager: concurrency per kind', () => {
  it('runs one training job at a time; the next waits as queued with no process', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const a = m.start('job_a', train('run_a'), ignore, { runId: 'run_a' });
    const b = m.start('job_b', train('run_b'), ignore, { runId: 'run_b' });
    expect(procs).toHaveLength(1);
    expect(a.info.state).toBe('running');
    expect(a.pid).toBe(procs[0].pid);
    expect(b.info.state).toBe('queued');
    expect(b.pid).toBeUndefined();
    expect(m.list().map((j) => [j.id, j.state, j.runId])).toEqual([
      ['job_a', 'running', 'run_a'],
      ['job_b', 'queued', 'run_b'],
    ]);
    await complete(procs[0]);
    expect(await a.done).toMatchObject({ state: 'completed', exitCode: 0 });
    await b.started;
    expect(b.info.state).toBe('running');
    expect(procs).toHaveLength(2);
  });

  it('runs two sampling and two export jobs at once; a third of each waits', () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const s = ['s1', 's2', 's3'].map((id) => m.start(id, sample(id), ignore));
    const e = ['e1', 'e2', 'e3'].map((id) => m.start(id, exportSpec(id), ignore));
    expect(s.map((j) => j.info.state)).toEqual(['running', 'running', 'queued']);
    expect(e.map((j) => j.info.state)).toEqual(['running', 'running', 'queued']);
    expect(procs).toHaveLength(4);
  });

  it('kinds do not wait for each other, and a time estimate does not wait behind training', () => {
    const { launcher } = fakeLauncher();
    const m = new JobManager(launcher);
    m.start('t', train('run_a'), ignore);
    const s = m.start('s', sample('s'), ignore);
    const est = m.start('est', train('estimate', { estimateSteps: 3 } as Partial<JobSpec>), ignore);
    const t2 = m.start('t2', train('run_b'), ignore);
    expect(s.info.state).toBe('running');
    expect(est.info.state).toBe('running');
    expect(t2.info.state).toBe('queued');
  });

  it('limits can be set per kind', () => {
    const { launcher } = fakeLauncher();
    const m = new JobManager(launcher, { sample: 1 });
    m.start('s1', sample('s1'), ignore);
    expect(m.start('s2', sample('s2'), ignore).info.state).toBe('queued');
  });

  it('starts queued jobs oldest first, one per freed slot, each with its own spec', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const started: string[] = [];
    const queued: string[] = [];
    m.on('job-started', (i: { id: string }) => started.push(i.id));
    m.on('job-queued', (i: { id: string }) => queued.push(i.id));
    const jobs = ['a', 'b', 'c'].map((id) => m.start(id, train(`run_${id}`), ignore));
    expect(queued).toEqual(['b', 'c']);
    await complete(procs[0]);
    expect(started).toEqual(['a', 'b']);
    expect(jobs[2].info.state).toBe('queued');
    expect((procs[1].spec as { runId: string }).runId).toBe('run_b');
    await complete(procs[1]);
    expect(started).toEqual(['a', 'b', 'c']);
    expect((procs[2].spec as { runId: string }).runId).toBe('run_c');
  });
});

describe('job manager: cancel and pause', () => {
  it('cancelling a queued job ends it as cancelled without ever starting it; the queue moves past it', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    m.start('a', train('run_a'), ignore);
    const b = m.start('b', train('run_b'), ignore);
    const c = m.start('c', train('run_c'), ignore);
    b.cancel();
    expect(await b.done).toEqual({ state: 'cancelled', exitCode: null, signal: null });
    expect(b.info.state).toBe('cancelled');
    expect(m.get('b')).toBeUndefined();
    await complete(procs[0]);
    expect(procs).toHaveLength(2);
    expect((procs[1].spec as { runId: string }).runId).toBe('run_c');
    expect(c.info.state).toBe('running');
  });

  it('cancelling a running job asks the process to stop; its cancelled `done` ends the job as cancelled', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const j = m.start('a', sample('a'), ignore);
    j.cancel();
    j.cancel(); // a second click sends nothing more
    expect(procs[0].sent.filter((x) => x.type === 'cancel')).toHaveLength(1);
    procs[0].post({ type: 'done', cancelled: true });
    procs[0].exit(0);
    expect(await j.done).toMatchObject({ state: 'cancelled', exitCode: 0 });
    expect(m.list()).toEqual([]);
  });

  it('a cancelled job whose process ignores the request is killed after the grace period, and ends cancelled', async () => {
    vi.useFakeTimers();
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const j = m.start('a', sample('a'), ignore);
    j.cancel();
    vi.advanceTimersByTime(14_000);
    expect(procs[0].kills).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(procs[0].kills).toEqual(['SIGKILL']);
    vi.useRealTimers();
    expect(await j.done).toMatchObject({ state: 'cancelled', signal: 'SIGKILL' });
  });

  it('pausing a running training job sends pause; a paused `done` ends it as paused', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const j = m.start('a', train('run_a'), ignore);
    j.pause();
    expect(procs[0].sent.map((x) => x.type)).toEqual(['start', 'pause']);
    procs[0].post({ type: 'done', cancelled: false, paused: true });
    procs[0].exit(0);
    expect((await j.done).state).toBe('paused');
    expect(j.info.state).toBe('completed');
  });

  it('pausing a queued job ends it as paused without starting it', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    m.start('a', train('run_a'), ignore);
    const b = m.start('b', train('run_b'), ignore);
    b.pause();
    expect((await b.done).state).toBe('paused');
    await complete(procs[0]);
    expect(procs).toHaveLength(1);
  });
});

describe('job manager: how a job ends', () => {
  it('relays every message to the handler in order, awaiting async handlers one at a time', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const seen: string[] = [];
    let inFlight = 0;
    const j = m.start('a', train('run_a'), async (msg) => {
      inFlight++;
      expect(inFlight).toBe(1);
      await settle();
      seen.push(msg.type === 'train-progress' ? `progress ${msg.step}` : msg.type);
      inFlight--;
    });
    procs[0].post({ type: 'started', backend: 'cpu', unavailable: {} });
    for (const step of [1, 2, 3]) procs[0].post({ type: 'train-progress', step, total: 3, losses: [{ step, loss: 1 / step }], stepsPerSec: 10, lr: 1e-3, gradNorm: 0.5 });
    procs[0].post({ type: 'done', cancelled: false });
    procs[0].exit(0);
    expect((await j.done).state).toBe('completed');
    // the outcome waits for the last handler: every message was handled before `done` resolved
    expect(seen).toEqual(['started', 'progress 1', 'progress 2', 'progress 3', 'done']);
  });

  it('an error from the job fails it with that error', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const j = m.start('a', sample('a'), ignore);
    procs[0].post({ type: 'error', error: { code: 'bad_request', message: 'checkpoint.sfwt is not a Sfumato checkpoint' } });
    procs[0].exit(1);
    expect(await j.done).toEqual({ state: 'failed', error: { code: 'bad_request', message: 'checkpoint.sfwt is not a Sfumato checkpoint' }, exitCode: 1, signal: null });
    expect(j.info.state).toBe('failed');
  });

  it('a process that exits mid-job without a final message ends interrupted, saying how it died', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const a = m.start('a', sample('a'), ignore);
    const b = m.start('b', sample('b'), ignore);
    procs[0].post({ type: 'sample-progress', done: 3, total: 40 });
    procs[0].exit(134);
    procs[1].exit(null, 'SIGKILL');
    const oa = await a.done;
    const ob = await b.done;
    expect(oa).toMatchObject({ state: 'interrupted', exitCode: 134, error: { code: 'internal' } });
    expect(oa.error!.message).toMatch(/exited unexpectedly \(code 134\)/);
    expect(ob).toMatchObject({ state: 'interrupted', signal: 'SIGKILL' });
    expect(ob.error!.message).toMatch(/killed \(SIGKILL\)/);
    expect(m.list()).toEqual([]);
  });

  it('a crashed job frees its slot: the next queued job starts', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    m.start('a', train('run_a'), ignore);
    const b = m.start('b', train('run_b'), ignore);
    procs[0].exit(1);
    await b.started;
    expect(b.info.state).toBe('running');
  });

  it('a failing handler fails the job loudly: the process is asked to stop, later messages go to onDiscard', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const handlerErrors: unknown[] = [];
    m.on('handler-error', (e) => handlerErrors.push(e));
    const handled: number[] = [];
    const discarded: number[] = [];
    const j = m.start(
      'a',
      sample('a'),
      (msg) => {
        if (msg.type !== 'sample') return;
        if (msg.index === 1) throw Object.assign(new Error('gallery row for s1 could not be written'), { code: 'unavailable' });
        handled.push(msg.index);
      },
      {},
      { onDiscard: (msg) => void (msg.type === 'sample' && discarded.push(msg.index)) },
    );
    for (const index of [0, 1, 2, 3]) procs[0].post({ type: 'sample', index, record: {} as never });
    await settle();
    expect(procs[0].sent.map((x) => x.type)).toEqual(['start', 'cancel']);
    procs[0].post({ type: 'done', cancelled: true });
    procs[0].exit(0);
    const out: JobOutcome = await j.done;
    expect(out).toMatchObject({ state: 'failed', error: { code: 'unavailable', message: 'gallery row for s1 could not be written' } });
    expect(handled).toEqual([0]);
    expect(discarded).toEqual([2, 3]);
    expect(handlerErrors).toHaveLength(1);
  });

  it('a handler error without an API code is reported as internal', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    m.on('handler-error', ignore);
    const j = m.start('a', sample('a'), () => {
      throw Object.assign(new Error('SQLITE_CORRUPT'), { code: 'SQLITE_CORRUPT' });
    });
    procs[0].post({ type: 'log', message: 'hello' });
    await settle();
    procs[0].exit(0);
    expect((await j.done).error).toMatchObject({ code: 'internal', message: 'SQLITE_CORRUPT' });
  });
});

describe('job manager: shutdown', () => {
  it('queued jobs end interrupted without starting; running ones are terminated and awaited', async () => {
    const { launcher, procs } = fakeLauncher();
    const m = new JobManager(launcher);
    const a = m.start('a', train('run_a'), ignore);
    const b = m.start('b', train('run_b'), ignore);
    const s = m.start('s', sample('s'), ignore);
    await m.shutdown();
    expect(procs).toHaveLength(2);
    expect(procs.map((p) => p.kills)).toEqual([['SIGTERM'], ['SIGTERM']]);
    const ob = await b.done;
    expect(ob.state).toBe('interrupted');
    expect(ob.error!.message).toMatch(/closed before this queued job could start/);
    expect((await a.done).state).toBe('interrupted');
    expect((await s.done).signal).toBe('SIGTERM');
    expect(m.list()).toEqual([]);
  });
});
