/**
 * How a job process is started. In plain Node (CLI, web mode, tests) it is child_process.fork of
 * the TypeScript worker through tsx; the Electron shell supplies a utilityProcess launcher
 * (src-main/app/utility-launcher.ts) with the same interface.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromJob, ToJob } from './protocol';

export interface JobProcess {
  readonly pid: number | undefined;
  send(msg: ToJob): void;
  onMessage(cb: (msg: FromJob) => void): void;
  /** called once when the process ends; `signal` set when it was killed */
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export type JobLauncher = () => JobProcess;

const WORKER_TS = join(dirname(fileURLToPath(import.meta.url)), 'job-process.ts');

/** Fork `src-main/jobs/job-process.ts` under tsx (so the CLI works right after `npm ci`, without a build). */
export const forkLauncher: JobLauncher = () => {
  const tsx = import.meta.resolve('tsx');
  const child = fork(WORKER_TS, [], {
    execArgv: ['--import', tsx],
    // The job's stdout goes to our stderr: stdout stays clean for `--json` output.
    stdio: ['ignore', 2, 2, 'ipc'],
    serialization: 'advanced',
  });
  return {
    pid: child.pid,
    send: (msg) => {
      if (child.connected) child.send(msg);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as FromJob)),
    onExit: (cb) => child.once('exit', (code, signal) => cb(code, signal)),
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
};
