/** `sfumato export`: samples to a folder or a .zip, with manifest.json and manifest.csv. */
import { Option, type Command } from 'commander';
import { call, type CliContext } from '../context';
import { parseIntStrict, UsageError } from '../parse';
import { isId } from '../../db/ids';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description('export samples to a folder or a .zip, with manifest.json and manifest.csv')
    .requiredOption('--samples <ids|query>', 'comma-separated sample ids, or "all", or a search query (same words as gallery list --search)')
    .requiredOption('--to <dir|file.zip>', 'target folder (created) or zip file; existing files are never overwritten')
    .addOption(new Option('--format <fmt>', 'image format').choices(['png', 'webp']).default('png'))
    .option('--contact-sheet', 'also write a contact sheet PNG')
    .option('--upscale <n>', 'nearest-neighbour upscale of every image and sheet cell, 1 to 16 (pixel art stays crisp)', parseIntStrict('upscale'), 1)
    .action((o: { samples: string; to: string; format: 'png' | 'webp'; contactSheet?: boolean; upscale: number }) =>
      ctx.withService(async (s, out) => {
        let ids: string[];
        if (o.samples.split(',').every((x) => isId('smp', x))) ids = o.samples.split(',');
        else {
          const q = await s.api['gallery:query']({ text: o.samples === 'all' ? undefined : o.samples, limit: 10_000 });
          ids = q.samples.map((x) => x.id);
        }
        if (!ids.length) throw new UsageError(`no samples match ${JSON.stringify(o.samples)}`);
        if (o.upscale < 1 || o.upscale > 16) throw new UsageError(`--upscale must be a whole number from 1 to 16 (got ${o.upscale})`);
        const r = await call(s, out, 'gallery:export', { ids, to: o.to, format: o.format, contactSheet: !!o.contactSheet, upscale: o.upscale });
        out.result({ export: r }, () => `exported ${r.count} image(s) to ${r.path}${r.contactSheet ? `\ncontact sheet: ${r.contactSheet}` : ''}`);
      }),
    );
}
