/**
 * Entry point of a job process (training or sampling). It talks to the main side only through
 * messages (protocol.ts) and never opens the database: files it produces (checkpoints, images)
 * are written atomically and announced, and the main side records them.
 */
import { toApiError } from '../api/errors';
import type { FromJob, JobContext, JobSpec, ToJob } from './protocol';

interface ParentPort {
  post(msg: FromJob): void;
  on(cb: (msg: ToJob) => void): void;
}

function parentPort(): ParentPort {
  // Electron utilityProcess: process.parentPort exists.
  const pp = (process as unknown as { parentPort?: { postMessage(m: unknown): void; on(ev: 'message', cb: (e: { data: unknown }) => void): void } }).parentPort;
  if (pp) {
    return { post: (m) => pp.postMessage(m), on: (cb) => pp.on('message', (e) => cb(e.data as ToJob)) };
  }
  if (!process.send) throw new Error('job-process.ts must be started as a job process (child_process.fork or utilityProcess).');
  // The parent is gone (app quit or crashed): stop at once. Files are written atomically, so
  // nothing half-written stays behind; the next start marks the run interrupted.
  process.on('disconnect', () => process.exit(0));
  return {
    post: (m) => {
      if (!process.connected) return;
      process.send!(m, undefined, undefined, (err) => {
        if (err) process.exit(0);
      });
    },
    on: (cb) => process.on('message', (m) => cb(m as ToJob)),
  };
}

async function runJob(spec: JobSpec, ctx: JobContext): Promise<void> {
  if (spec.kind === 'train') {
    const { runTrainJob } = await import('./train-job');
    await runTrainJob(spec, ctx);
  } else if (spec.kind === 'sample') {
    const { runSampleJob } = await import('./sample-job');
    await runSampleJob(spec, ctx);
  } else if (spec.kind === 'grid') {
    const { runGridJob } = await import('./grid-job');
    await runGridJob(spec, ctx);
  } else if (spec.kind === 'likelihood') {
    const { runLikelihoodJob } = await import('./likelihood-job');
    await runLikelihoodJob(spec, ctx);
  } else {
    const { runExportJob } = await import('./export-job');
    await runExportJob(spec, ctx);
  }
}

const port = parentPort();
// Ctrl-C at a terminal signals the whole process group, this job too. The job does not die of it
// (that would leave temp files, a run `interrupted` instead of `cancelled`): the main side decides,
// and cancels the job politely. If the main side goes, 'disconnect' above ends the job.
process.on('SIGINT', () => undefined);
const abort = new AbortController();
let started = false;
let pause = false;

port.on((msg) => {
  if (msg.type === 'cancel') {
    abort.abort();
    return;
  }
  if (msg.type === 'pause') {
    pause = true;
    return;
  }
  if ((msg.type === 'start' || msg.type === 'probe-providers') && !started) {
    started = true;
    const ctx: JobContext = { post: (m) => port.post(m), signal: abort.signal, pauseRequested: () => pause };
    const work =
      msg.type === 'start'
        ? runJob(msg.spec, ctx)
        : import('./providers-job').then(async ({ probeProviderTable }) => ctx.post({ type: 'providers', info: await probeProviderTable() }));
    work
      .then(() => port.post({ type: 'done', cancelled: abort.signal.aborted, paused: pause && !abort.signal.aborted }))
      .catch((e: unknown) => {
        // The one error mapping (api/errors.ts); a bug keeps its stack for the main side's log.
        const err = toApiError(e);
        if (abort.signal.aborted && err.code === 'cancelled') {
          port.post({ type: 'done', cancelled: true });
        } else {
          const stack = err.code === 'internal' && e instanceof Error ? e.stack : undefined;
          port.post({ type: 'error', error: stack === undefined ? err.toJSON() : { ...err.toJSON(), details: stack } });
        }
      })
      .finally(() => {
        // Give the IPC channel a moment to flush, then leave.
        setTimeout(() => process.exit(0), 50);
      });
  }
});
