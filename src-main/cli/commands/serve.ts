/** `sfumato serve`: web mode, the UI and the API on 127.0.0.1 with a random token; with --queue, jobs go to workers. */
import type { Command } from 'commander';
import { Sfumato } from '../../services/sfumato';
import type { CliContext } from '../context';
import { parseIntStrict } from '../parse';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('web mode: serve the UI and the API on 127.0.0.1 with a random token')
    .option('--port <port>', 'port (0 = any free port)', parseIntStrict('port'), 4780)
    .option('--host <host>', 'interface to listen on (not loopback: a warning, and the token only in the Authorization header)', '127.0.0.1')
    .option('--queue <url>', 'run training and sampling jobs on workers through BullMQ on this Redis (redis://HOST:PORT; default $SFUMATO_QUEUE, else local jobs)')
    .option('--worker-token <token>', 'a second token that lets workers in (only the worker routes); revoke it with POST /api/worker-token/revoke')
    .action(async (o: { port: number; host: string; queue?: string; workerToken?: string }) => {
      const { startWebServer } = await import('../../server/http');
      const queueUrl = o.queue ?? (process.env.SFUMATO_QUEUE || undefined);
      if (o.workerToken !== undefined && o.workerToken.length < 16) throw new Error('--worker-token must be at least 16 characters (use `openssl rand -hex 16`).');
      const s = await Sfumato.open({ libraryPath: ctx.globals().dataDir, mode: 'web', ...(queueUrl ? { queue: { url: queueUrl } } : {}) });
      const srv = await startWebServer(s, { port: o.port, host: o.host, workerToken: o.workerToken });
      if (srv.warning) process.stderr.write(`sfumato: warning: ${srv.warning}\n`);
      process.stdout.write(`Sfumato web UI: ${srv.url}\n`);
      if (s.queue) process.stderr.write(`sfumato: training and sampling jobs go to workers through ${s.queue.url}\n`);
      if (ctx.globals().json) process.stdout.write(JSON.stringify({ url: srv.url, port: srv.port, token: srv.token }) + '\n');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await srv.close();
      await s.close();
    });
}
