/**
 * Job processes on the desktop: Electron's utilityProcess running the built job worker
 * (out/main/job-process.js), with the same JobProcess interface as the CLI's fork launcher.
 */
import { utilityProcess } from 'electron';
import { join } from 'node:path';
import type { JobLauncher } from '../jobs/launcher';
import type { FromJob } from '../jobs/protocol';

export function utilityLauncher(mainDir: string): JobLauncher {
  return () => {
    const child = utilityProcess.fork(join(mainDir, 'job-process.js'), [], { serviceName: 'Sfumato job', stdio: 'inherit' });
    const pending: unknown[] = [];
    let spawned = false;
    child.once('spawn', () => {
      spawned = true;
      for (const m of pending.splice(0)) child.postMessage(m);
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (msg) => (spawned ? child.postMessage(msg) : pending.push(msg)),
      onMessage: (cb) => child.on('message', (m: unknown) => cb(m as FromJob)),
      onExit: (cb) => child.once('exit', (code: number) => cb(code, null)),
      kill: () => {
        child.kill();
      },
    };
  };
}
