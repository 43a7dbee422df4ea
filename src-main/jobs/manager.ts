/**
 * Main-side bookkeeping of job processes: start, route messages, cancel, and tell how each ended.
 * It knows nothing about the database; the services decide what each message means for the store.
 */
import { EventEmitter } from 'node:events';
import type { JobInfo, JobKind, JobState } from '../api/types';
import type { JobLauncher, JobProcess } from './launcher';
import type { FromJob, JobSpec } from './protocol';

export interface JobOutcome {
  state: Exclude<JobState, 'running'> | 'paused';
  /** error reported by the job, or a description of how the process died */
  error?: { code: string; message: string; details?: unknown };
  exitCode: number | null;
  signal: string | null;
}

export interface RunningJob {
  readonly info: JobInfo;
  readonly pid: number | undefined;
  cancel(): void;
  /** training: checkpoint, then stop */
  pause(): void;
  readonly done: Promise<JobOutcome>;
}

const CANCEL_GRACE_MS = 15_000;

export class JobManager extends EventEmitter {
  private readonly jobs = new Map<string, { job: RunningJob; proc: JobProcess }>();

  constructor(private readonly launcher: JobLauncher) {
    super();
  }

  start(
    id: string,
    spec: JobSpec,
    onMessage: (msg: FromJob) => void | Promise<void>,
    extra: { runId?: string; datasetId?: string } = {},
  ): RunningJob {
    const proc = this.launcher();
    const kind: JobKind = spec.kind;
    const info: JobInfo = { id, kind, state: 'running', startedAt: new Date().toISOString(), ...extra };
    let finished: FromJob | undefined;
    let cancelRequested = false;
    let killTimer: NodeJS.Timeout | undefined;
    // Messages are handled strictly in order, even when a handler is async (DB writes).
    let chain: Promise<void> = Promise.resolve();

    proc.onMessage((msg) => {
      if (msg.type === 'done' || msg.type === 'error') finished = msg;
      chain = chain
        .then(() => onMessage(msg))
        .catch((e: unknown) => {
          this.emit('handler-error', e);
        });
    });

    const done = new Promise<JobOutcome>((resolve) => {
      proc.onExit((exitCode, signal) => {
        if (killTimer) clearTimeout(killTimer);
        void chain.then(() => {
          let outcome: JobOutcome;
          if (finished?.type === 'done') {
            outcome = { state: finished.cancelled ? 'cancelled' : finished.paused ? 'paused' : 'completed', exitCode, signal };
          } else if (finished?.type === 'error') {
            outcome = { state: 'failed', error: finished.error, exitCode, signal };
          } else if (cancelRequested) {
            outcome = { state: 'cancelled', exitCode, signal };
          } else {
            outcome = {
              state: 'interrupted',
              error: {
                code: 'internal',
                message: signal
                  ? `The job process was killed (${signal}) before it finished.`
                  : `The job process exited unexpectedly (code ${exitCode}).`,
              },
              exitCode,
              signal,
            };
          }
          info.state = outcome.state === 'paused' ? 'completed' : outcome.state;
          this.jobs.delete(id);
          resolve(outcome);
        });
      });
    });

    const job: RunningJob = {
      info,
      pid: proc.pid,
      done,
      pause: () => proc.send({ type: 'pause' }),
      cancel: () => {
        if (cancelRequested) return;
        cancelRequested = true;
        proc.send({ type: 'cancel' });
        killTimer = setTimeout(() => proc.kill('SIGKILL'), CANCEL_GRACE_MS);
        killTimer.unref();
      },
    };
    this.jobs.set(id, { job, proc });
    proc.send({ type: 'start', spec });
    return job;
  }

  get(id: string): RunningJob | undefined {
    return this.jobs.get(id)?.job;
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.job.info }));
  }

  /** Stop every job (app quit): ask politely, then kill; the jobs' runs resume later. */
  async shutdown(): Promise<void> {
    const all = [...this.jobs.values()];
    for (const { proc } of all) proc.kill('SIGTERM');
    await Promise.all(all.map(({ job }) => job.done));
  }
}
