/**
 * The `sfumato` command line: the same service layer as the desktop app and web mode, and the same
 * validated entry points (`Sfumato.api`). One module per command group under commands/.
 * Exit codes: 0 success, 1 failure, 2 bad usage or bad input.
 */
import { Command, CommanderError } from 'commander';
import { ApiError, DomainError, toApiError } from '../api/errors';
import { APP_VERSION } from '../services/system';
import { addBenchCommands, BenchInputError } from './bench';
import { cliContext, type CliContext, type GlobalOpts } from './context';
import { UsageError } from './parse';
import * as datasets from './commands/datasets';
import * as evalCmd from './commands/eval';
import * as exportCmd from './commands/export';
import * as gallery from './commands/gallery';
import * as info from './commands/info';
import * as models from './commands/models';
import * as presets from './commands/presets';
import * as reproduce from './commands/reproduce';
import * as runs from './commands/runs';
import * as sample from './commands/sample';
import * as serve from './commands/serve';
import * as train from './commands/train';
import * as worker from './commands/worker';

export function buildProgram(ctx: CliContext = cliContext()): Command {
  const program = new Command();
  program
    .name('sfumato')
    .description('Train small diffusion models on your own images and make art with them.')
    .version(APP_VERSION)
    .option('--data-dir <dir>', 'library folder (default: $SFUMATO_HOME or ~/.local/share/sfumato)')
    .option('--json', 'print exactly one JSON object on stdout at the end (progress goes to stderr)')
    .option('--server <url>', 'be a client of a running `sfumato serve` (http://HOST:PORT; default $SFUMATO_SERVER): same commands, same --json')
    .option('--token <token>', 'the token of --server (default $SFUMATO_TOKEN); `sfumato worker` takes the server token or its worker token')
    .showHelpAfterError();
  ctx.globals = () => program.opts<GlobalOpts>();
  for (const group of [info, datasets, train, runs, sample, gallery, reproduce, exportCmd, models, presets, evalCmd]) group.register(program, ctx);
  addBenchCommands(program, () => !!ctx.globals().json);
  serve.register(program, ctx);
  worker.register(program, ctx);
  return program;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const ctx = cliContext();
  const program = buildProgram(ctx);
  program.exitOverride();
  program.configureOutput({ writeErr: (str) => process.stderr.write(str) });
  try {
    await program.parseAsync(argv);
    return ctx.exitCode ?? 0;
  } catch (e) {
    return reportError(e, argv.includes('--json'));
  }
}

/**
 * A decoder's or the runtime's own wording, turned into a line that says what happened and what
 * to do. ApiErrors made by the service layer already say both and pass through unchanged.
 */
export function userMessage(e: unknown): { code: string; message: string; details?: unknown } {
  const api = toApiError(e);
  if (api.code !== 'internal') return api.toJSON();
  const raw = e instanceof Error ? e.message : e && typeof e === 'object' && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  const first = raw.split('\n')[0]!.trim();
  // sharp/libvips words, whether raw or wrapped in an internal ApiError
  if (/exceeds pixel limit/i.test(raw))
    return { code: 'bad_request', message: `an image is larger than Sfumato reads (${first}). Use an image of at most 50 megapixels (for example 4096 px on the long side) and try again.` };
  if (/^Input (file|buffer)|unsupported image format|VipsForeign|vips_|corrupt header|premature end/i.test(raw))
    return { code: 'bad_request', message: `an image could not be read (${first}). Check that the file is a complete PNG, JPEG, WebP, GIF, TIFF or AVIF image (export it again if needed) and try again.` };
  // An error made for users (the contract's, or a domain error) already says what to do.
  if (e instanceof ApiError || e instanceof DomainError || !(e instanceof Error)) return api.toJSON();
  const errno = (e as NodeJS.ErrnoException).code;
  if (typeof errno === 'string' && errno.startsWith('SQLITE_')) return api.toJSON();
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno))
    return { code: 'internal', message: `a file operation failed (${first}). Check the path, free disk space and permissions, then try again.` };
  const kind = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return { code: 'internal', message: `unexpected error (${kind}${first}). This is a bug in Sfumato: please report it with the command you ran.` };
}

function reportError(e: unknown, json: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return 2;
  }
  let code = 1;
  let shape: { code: string; message: string; details?: unknown };
  if (e instanceof UsageError || e instanceof BenchInputError) {
    code = 2;
    shape = { code: 'bad_request', message: e.message };
  } else {
    shape = userMessage(e);
    if (shape.code === 'bad_request') code = 2;
  }
  if (json) process.stdout.write(JSON.stringify({ error: shape }) + '\n');
  process.stderr.write(`sfumato: ${shape.code === 'cancelled' ? 'cancelled: ' : ''}${shape.message}\n`);
  return code;
}
