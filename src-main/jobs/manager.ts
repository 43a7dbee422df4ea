/**
 * Main-side bookkeeping of job processes: queue, start, route messages, cancel, and tell how each
 * ended. It knows nothing about the database; the services decide what each message means for the
 * store.
 *
 * Concurrency: at most `limits[class]` job processes of a class run at once (default one training
 * job, two sampling jobs); further jobs wait in FIFO order with state `queued` and no process.
 * Cancelling a queued job removes it from the queue without starting it.
 *
 * Message handlers: messages are handled strictly in order. If a handler fails (e.g. a gallery row
 * cannot be written after the store's bounded retry), the job is failed loudly: it is asked to
 * stop, every later message goes to `onDiscard` instead (so the service can remove files that
 * will get no row), and the outcome is `failed` with the handler's error.
 */
import { EventEmitter } from 'node:events';
import type { ApiErrorCode, JobInfo, JobKind, JobState } from '../api/types';
import type { JobLauncher, JobProcess } from './launcher';
import type { FromJob, JobSpec } from './protocol';

export interface JobOutcome {
  state: Exclude<JobState, 'running' | 'queued'> | 'paused';
  /** error reported by the job, or a description of how the process died */
  error?: { code: string; message: string; details?: unknown };
  exitCode: number | null;
  signal: string | null;
}

export interface RunningJob {
  readonly info: JobInfo;
  /** the job process's pid; undefined while the job is queued */
  readonly pid: number | undefined;
  cancel(): void;
  /** training: checkpoint, then stop */
  pause(): void;
  readonly done: Promise<JobOutcome>;
  /** resolves when the job process is started (at once unless it was queued) */
  readonly started: Promise<void>;
}

/** Concurrency classes: estimates (short calibration runs) do not wait behind a training run. */
export type JobClass = JobKind | 'estimate';
export type JobLimits = Partial<Record<JobClass, number>>;
export const DEFAULT_JOB_LIMITS: Readonly<Record<JobClass, number>> = Object.freeze({ train: 1, sample: 2, export: 2, estimate: 1, import: 2, likelihood: 1 });

export interface StartOptions {
  /** called, in order, for each message that arrives after a handler failed (clean up its files) */
  onDiscard?: (msg: FromJob) => void | Promise<void>;
}

const CANCEL_GRACE_MS = 15_000;

function classOf(spec: JobSpec): JobClass {
  return spec.kind === 'train' && spec.estimateSteps ? 'estimate' : spec.kind === 'grid' ? 'sample' : spec.kind;
}

const API_CODES: readonly string[] = ['bad_request', 'unauthorized', 'not_found', 'conflict', 'cancelled', 'unavailable', 'internal'] satisfies ApiErrorCode[];

interface Entry {
  job: RunningJob;
  proc?: JobProcess;
  cls: JobClass;
  launch: () => void;
  /** settle a job that never started (cancelled or shut down while queued) */
  drop: (outcome: JobOutcome) => void;
}

export class JobManager extends EventEmitter {
  private readonly jobs = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private readonly limits: Record<JobClass, number>;
  private closing = false;

  constructor(
    private readonly launcher: JobLauncher,
    limits: JobLimits = {},
  ) {
    super();
    this.limits = { ...DEFAULT_JOB_LIMITS, ...limits };
  }

  start(
    id: string,
    spec: JobSpec,
    onMessage: (msg: FromJob) => void | Promise<void>,
    extra: { runId?: string; datasetId?: string } = {},
    opts: StartOptions = {},
  ): RunningJob {
    // an X/Y grid is a sampling job to everyone watching
    const kind: JobKind = spec.kind === 'grid' ? 'sample' : spec.kind;
    const cls = classOf(spec);
    const info: JobInfo = { id, kind, state: 'queued', startedAt: new Date().toISOString(), ...extra };
    let proc: JobProcess | undefined;
    let finished: FromJob | undefined;
    let cancelRequested = false;
    let pauseRequested = false;
    let killTimer: NodeJS.Timeout | undefined;
    let handlerError: unknown;
    // Messages are handled strictly in order, even when a handler is async (DB writes).
    let chain: Promise<void> = Promise.resolve();
    let resolveDone!: (o: JobOutcome) => void;
    let resolveStarted!: () => void;
    const done = new Promise<JobOutcome>((r) => (resolveDone = r));
    const started = new Promise<void>((r) => (resolveStarted = r));

    const stop = () => {
      if (!proc || killTimer) return;
      proc.send({ type: 'cancel' });
      const p = proc;
      killTimer = setTimeout(() => p.kill('SIGKILL'), CANCEL_GRACE_MS);
      killTimer.unref();
    };

    const finish = (outcome: JobOutcome) => {
      if (killTimer) clearTimeout(killTimer);
      info.state = outcome.state === 'paused' ? 'completed' : outcome.state;
      if (this.jobs.get(id) === entry) this.jobs.delete(id);
      resolveDone(outcome);
      this.pump();
    };

    const launch = () => {
      info.state = 'running';
      info.startedAt = new Date().toISOString();
      proc = this.launcher();
      entry.proc = proc;
      proc.onMessage((msg) => {
        if (msg.type === 'done' || msg.type === 'error') finished = msg;
        chain = chain.then(async () => {
          if (handlerError !== undefined) {
            await Promise.resolve(opts.onDiscard?.(msg)).catch((e: unknown) => this.emit('handler-error', e));
            return;
          }
          try {
            await onMessage(msg);
          } catch (e) {
            // Fail the job loudly: stop it, and route everything after this to onDiscard.
            handlerError = e;
            this.emit('handler-error', e);
            stop();
          }
        });
      });
      proc.onExit((exitCode, signal) => {
        void chain.then(() => finish(this.outcomeOf(finished, handlerError, cancelRequested, exitCode, signal)));
      });
      proc.send({ type: 'start', spec });
      if (pauseRequested) proc.send({ type: 'pause' });
      resolveStarted();
      this.emit('job-started', { ...info });
    };

    const job: RunningJob = {
      info,
      get pid() {
        return proc?.pid;
      },
      done,
      started,
      pause: () => {
        if (proc) proc.send({ type: 'pause' });
        else if (info.state === 'queued') {
          pauseRequested = true;
          this.dequeue(entry, { state: 'paused', exitCode: null, signal: null });
        }
      },
      cancel: () => {
        if (cancelRequested) return;
        cancelRequested = true;
        if (proc) stop();
        else this.dequeue(entry, { state: 'cancelled', exitCode: null, signal: null });
      },
    };
    const entry: Entry = { job, cls, launch, drop: finish };
    this.jobs.set(id, entry);
    if (this.runningCount(cls) < this.limits[cls]) launch();
    else {
      this.queue.push(entry);
      this.emit('job-queued', { ...info });
    }
    return job;
  }

  private outcomeOf(finished: FromJob | undefined, handlerError: unknown, cancelRequested: boolean, exitCode: number | null, signal: string | null): JobOutcome {
    if (handlerError !== undefined) {
      const e = handlerError as { code?: unknown; message?: unknown; details?: unknown };
      const code = typeof e?.code === 'string' && API_CODES.includes(e.code) ? e.code : 'internal';
      return { state: 'failed', error: { code, message: typeof e?.message === 'string' ? e.message : String(handlerError), details: e?.details }, exitCode, signal };
    }
    if (finished?.type === 'done') {
      return { state: finished.cancelled ? 'cancelled' : finished.paused ? 'paused' : 'completed', exitCode, signal };
    }
    if (finished?.type === 'error') return { state: 'failed', error: finished.error, exitCode, signal };
    if (cancelRequested) return { state: 'cancelled', exitCode, signal };
    return {
      state: 'interrupted',
      error: {
        code: 'internal',
        message: signal ? `The job process was killed (${signal}) before it finished.` : `The job process exited unexpectedly (code ${exitCode}).`,
      },
      exitCode,
      signal,
    };
  }

  private runningCount(cls: JobClass): number {
    let n = 0;
    for (const e of this.jobs.values()) if (e.cls === cls && e.proc) n++;
    return n;
  }

  /** Start queued jobs, oldest first, while their class has a free slot. */
  private pump(): void {
    if (this.closing) return;
    for (let i = 0; i < this.queue.length; ) {
      const e = this.queue[i];
      if (this.runningCount(e.cls) < this.limits[e.cls]) {
        this.queue.splice(i, 1);
        e.launch();
      } else i++;
    }
  }

  private dequeue(entry: Entry, outcome: JobOutcome): void {
    const i = this.queue.indexOf(entry);
    if (i < 0) return;
    this.queue.splice(i, 1);
    entry.drop(outcome);
  }

  get(id: string): RunningJob | undefined {
    return this.jobs.get(id)?.job;
  }

  /** Every job that has not ended: running ones and queued ones (state `queued`, no pid). */
  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.job.info }));
  }

  /** Stop every job (app quit): queued ones never start; running ones are asked, then killed. */
  async shutdown(): Promise<void> {
    this.closing = true;
    for (const e of [...this.queue]) {
      this.dequeue(e, {
        state: 'interrupted',
        error: { code: 'internal', message: 'Sfumato closed before this queued job could start.' },
        exitCode: null,
        signal: null,
      });
    }
    const all = [...this.jobs.values()];
    for (const { proc } of all) proc?.kill('SIGTERM');
    await Promise.all(all.map(({ job }) => job.done));
  }
}
