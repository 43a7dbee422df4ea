/** `sfumato serve`: web mode, the UI and the API on 127.0.0.1 with a random token. */
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
    .action(async (o: { port: number; host: string }) => {
      const { startWebServer } = await import('../../server/http');
      const s = await Sfumato.open({ libraryPath: ctx.globals().dataDir, mode: 'web' });
      const srv = await startWebServer(s, { port: o.port, host: o.host });
      if (srv.warning) process.stderr.write(`sfumato: warning: ${srv.warning}\n`);
      process.stdout.write(`Sfumato web UI: ${srv.url}\n`);
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
