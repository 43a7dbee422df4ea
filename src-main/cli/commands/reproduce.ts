/** `sfumato reproduce` (a gallery sample or a PNG Sfumato wrote) and `sfumato animate`. */
import { Option, type Command } from 'commander';
import type { JobProgress } from '../../api/types';
import { call, type CliContext } from '../context';
import { parseIntStrict } from '../parse';
import { isId } from '../../db/ids';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('reproduce <sample>')
    .description('regenerate a gallery sample (id) or a PNG made by Sfumato, and compare the pixels')
    .action((target: string) =>
      ctx.withService(async (s, out) => {
        // a sample id goes through the gallery:reproduce channel; a PNG file has no channel yet
        const r = isId('smp', target) ? await call(s, out, 'gallery:reproduce', { id: target }) : await s.reproduceFile(target, (p: JobProgress) => out.progress(p));
        out.result(r, () => (r.identical ? `identical: ${r.sampleId} reproduces exactly on ${r.backend}` : `different: max ${r.maxDiff}/255 on ${(r.differingShare * 100).toFixed(2)}% of pixels (${r.backend})`));
        return r.identical ? 0 : 1;
      }),
    );

  program
    .command('animate <sample>')
    .description('a denoising animation of a gallery sample (GIF or animated WebP): its predicted x0, or its state x_t, at every step')
    .requiredOption('--out <file>', 'file.gif or file.webp (never overwritten)')
    .addOption(new Option('--show <what>', 'what each frame shows').choices(['x0', 'xt']).default('x0'))
    .option('--delay <ms>', 'milliseconds per frame', parseIntStrict('delay'), 120)
    .option('--scale <n>', 'whole-number enlargement (default: about 256 px)', parseIntStrict('scale'))
    .action((id: string, o: { out: string; show: 'x0' | 'xt'; delay: number; scale?: number }) =>
      ctx.withService(async (s, out, signal) => {
        // no channel (the app has no animation yet): the reproduce service directly
        const r = await s.reproduction.animate(id, { out: o.out, what: o.show, delayMs: o.delay, scale: o.scale, signal }, (p) => out.progress(p));
        out.result({ animation: r }, () => `wrote ${r.file} (${r.frames} frames)`);
      }),
    );
}
