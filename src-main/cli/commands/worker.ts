/**
 * `sfumato worker`: take training and sampling jobs from a server's queue (BullMQ on Redis) and run
 * them on this machine; inputs come from the server by hash, outputs go back to it (the server
 * records them). See jobs/queue-worker.ts.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { OrtProviderChoice } from '../../api/types';
import { startQueueWorker } from '../../jobs/queue-worker';
import { probeBackends } from '../../services/system';
import type { CliContext } from '../context';
import { parseIntStrict, UsageError } from '../parse';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description("run jobs of a server started with --queue: sfumato worker --server URL --token T --queue redis://HOST:PORT")
    .option('--queue <url>', 'the same Redis as the server (default $SFUMATO_QUEUE)')
    .option('--concurrency <n>', 'jobs at once', parseIntStrict('concurrency'), 1)
    .addOption(new Option('--provider <name>', 'ONNX Runtime execution provider for sampling jobs (default: the job\'s, else probed: onnx/providers.ts)').choices(['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu']))
    .option('--threads <n>', 'ONNX Runtime threads per sampling job (default: one per physical core)', parseIntStrict('threads'))
    .option('--cache-dir <dir>', 'cache of inputs fetched by hash (default ~/.cache/sfumato-worker)')
    .option('--id <id>', 'worker name shown on the System page (default host-pid)')
    .option('--lock-ms <ms>', 'a worker silent this long is presumed lost and its job re-queued', parseIntStrict('lock-ms'), 30_000)
    .action(async (o: { queue?: string; concurrency: number; provider?: OrtProviderChoice; threads?: number; cacheDir?: string; id?: string; lockMs: number }) => {
      // --server and --token are the global options (the worker is a client of that server)
      const server = ctx.globals().server ?? (process.env.SFUMATO_SERVER || undefined);
      const token = ctx.globals().token ?? process.env.SFUMATO_TOKEN;
      const queue = o.queue ?? process.env.SFUMATO_QUEUE;
      if (!server) throw new UsageError('worker needs --server http://HOST:PORT (the address `sfumato serve --queue …` listens on).');
      if (!token) throw new UsageError('worker needs --token (the token `sfumato serve` printed, or its --worker-token) or $SFUMATO_TOKEN.');
      if (!queue) throw new UsageError('worker needs --queue redis://HOST:PORT (the same Redis as the server) or $SFUMATO_QUEUE.');
      if (o.concurrency < 1 || o.concurrency > 64) throw new UsageError('--concurrency must be from 1 to 64.');
      const backend = await probeBackends();
      // advertised on the System page: the ONNX Runtime providers this machine has (not yet probed:
      // each job probes its own), then the tfjs backend
      const { machineProviderFacts, providerAvailability } = await import('../../onnx/providers');
      const ort = providerAvailability(await machineProviderFacts()).filter((p) => p.available).map((p) => `onnxruntime-${p.provider}`);
      const providers = [...ort, backend.active];
      const w = await startQueueWorker({
        server,
        token,
        queue,
        concurrency: o.concurrency,
        provider: o.provider,
        threads: o.threads,
        providers,
        cacheDir: o.cacheDir ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sfumato-worker'),
        id: o.id,
        lockMs: o.lockMs,
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      // Stop taking jobs and let the running ones finish; a second Ctrl-C leaves at once (BullMQ
      // re-queues the job when its lock expires, and the server resumes it as for a lost worker).
      process.stderr.write('sfumato worker: finishing the running job(s); Ctrl-C again to stop at once (they are re-queued)\n');
      process.once('SIGINT', () => process.exit(130));
      await w.close();
    });
}
