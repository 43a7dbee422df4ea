/**
 * Whether a process id names a live process: one rule for the whole app (stale-run recovery in
 * services/runs.ts, stale temp files in db/files.ts). `kill(pid, 0)` sends no signal; it only
 * checks. ESRCH means no such process; EPERM means the process EXISTS but belongs to another user,
 * so it is alive (treating it as dead would recover a run, or delete a temp file, that a live
 * process still owns). Our own pid is alive.
 */
export function isPidAlive(pid: number, kill: (pid: number, signal: number) => unknown = process.kill.bind(process)): boolean {
  if (pid === process.pid) return true;
  try {
    kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
