/**
 * What every command module gets: the global options, `withService` (open the library, run,
 * close; Ctrl-C cancels), `call` (a channel through the same validated entry point IPC and HTTP
 * use, with progress lines), and the shared result lines.
 */
import type { Channel, ReqIn, Res } from '../api/channels';
import type { JobProgress, Run, SampleRecord } from '../api/types';
import { SCRATCH_PROGRESS } from '../services/context';
import { Sfumato } from '../services/sfumato';
import { Output } from './output';

export interface GlobalOpts {
  dataDir?: string;
  json?: boolean;
  /** a running server to be a client of (cli/remote.ts); with its token */
  server?: string;
  token?: string;
}

export interface CliContext {
  /** the global options (--data-dir, --json) as parsed; set by buildProgram */
  globals: () => GlobalOpts;
  withService(fn: (s: Sfumato, out: Output, signal: AbortSignal) => Promise<number | void>): Promise<void>;
  /** the exit code the last action asked for (undefined: 0) */
  exitCode: number | undefined;
}

export function cliContext(): CliContext {
  const ctx: CliContext = {
    globals: () => ({}),
    exitCode: undefined,
    async withService(fn) {
      const g = ctx.globals();
      const abort = new AbortController();
      // the signal stops long work of this process that is not a job (a dataset import)
      const server = g.server ?? (process.env.SFUMATO_SERVER || undefined);
      const s = server
        ? await (await import('./remote')).connectRemote(server, g.token ?? process.env.SFUMATO_TOKEN)
        : await Sfumato.open({ libraryPath: g.dataDir, mode: 'cli', signal: abort.signal });
      const out = new Output(!!g.json);
      let sweeper: NodeJS.Timeout | undefined;
      const force = () => {
        process.stderr.write('sfumato: stopped (Ctrl-C twice); a training run resumes from its last checkpoint with sfumato train --resume <run>\n');
        process.exit(130);
      };
      // Ctrl-C: cancel running jobs politely (and any job that starts after it), then leave.
      const onSigint = () => {
        out.info('cancelling… (Ctrl-C again to force)');
        abort.abort();
        const cancelAll = () => {
          for (const j of s.jobs.list()) s.jobs.get(j.id)?.cancel();
        };
        cancelAll();
        sweeper = setInterval(cancelAll, 100);
        sweeper.unref();
        process.once('SIGINT', force);
      };
      process.once('SIGINT', onSigint);
      try {
        const r = await fn(s, out, abort.signal);
        if (typeof r === 'number') ctx.exitCode = r;
      } finally {
        if (sweeper) clearInterval(sweeper);
        process.off('SIGINT', onSigint);
        await s.close();
        process.off('SIGINT', force);
      }
    },
  };
  return ctx;
}

/**
 * A channel called exactly as the app and web mode call it (`s.api`: the request validated first),
 * with the progress of the jobs it starts shown on stderr.
 */
export async function call<K extends Channel>(s: Sfumato, out: Output, ch: K, req: ReqIn<K>): Promise<Res<K>> {
  const onProgress = (p: JobProgress) => out.progress(p);
  s.events.on('jobs:progress', onProgress);
  s.events.on(SCRATCH_PROGRESS, onProgress);
  try {
    return await s.api[ch](req);
  } finally {
    s.events.off('jobs:progress', onProgress);
    s.events.off(SCRATCH_PROGRESS, onProgress);
  }
}

/** The samples made, and a "cancelled" line on stderr when Ctrl-C stopped the job early (exit 1). */
export function printSamples(out: Output, r: { samples: SampleRecord[]; cancelled: boolean }): number {
  out.result({ samples: r.samples, cancelled: r.cancelled }, () => r.samples.map(sampleLine).join('\n'));
  if (r.cancelled) out.info(`sfumato: cancelled: ${r.samples.length} image(s) were finished before Ctrl-C and are in the gallery; nothing else was written.`);
  return r.cancelled ? 1 : 0;
}

/** What a cancelled run leaves: its checkpoints (to sample or resume), or none yet. */
export async function keptLine(s: Sfumato, runId: string): Promise<string> {
  const n = await s.store.checkpoints.count(runId);
  return n > 0
    ? `its ${n} checkpoint(s) are kept (sample them with sfumato sample --run ${runId}, or continue with sfumato train --resume ${runId}).`
    : 'no checkpoint had been written yet, so there is nothing to sample or resume.';
}

export function runLine(r: Run): string {
  const loss = r.lastLoss === null ? '' : ` loss ${r.lastLoss.toFixed(5)}`;
  // id and status first, as before names existed (scripts read those columns); the name last
  return `${r.id}  ${r.status.padEnd(11)} step ${r.step}/${r.config.steps}${loss}  dataset ${r.datasetId}  seed ${r.seed}  "${r.name}"${r.error ? `  (${r.error})` : ''}`;
}

export function sampleLine(s: SampleRecord): string {
  return `${s.id}  seed ${s.seed}  ${s.sampler} ${s.steps} steps  ${s.width}x${s.height}  ckpt ${s.checkpoint.id}  ${s.file}`;
}
