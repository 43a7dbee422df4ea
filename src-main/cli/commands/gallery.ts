/** `sfumato gallery …`: list, show, tag, mark, trash, restore and empty the trash. */
import { Option, type Command } from 'commander';
import type { SamplerName } from '../../api/types';
import { SAMPLER_NAMES } from '../../diffusion/samplers/index';
import { call, sampleLine, type CliContext } from '../context';
import { parseIntStrict, parseWords, UsageError } from '../parse';

export function register(program: Command, ctx: CliContext): void {
  const gallery = program.command('gallery').description('generated images: list, organise, trash');
  gallery
    .command('list')
    .option('--run <id>', 'only samples of this run')
    .option('--model <sha256>', 'only samples of this checkpoint (sha256 or its prefix)')
    .addOption(new Option('--sampler <name>', 'only this sampler').choices([...SAMPLER_NAMES]))
    .option('--steps <n>', 'only this many steps', parseIntStrict('steps'))
    .option('--tag <tag>', 'only samples with this tag')
    .option('--favorites', 'only favourites')
    .option('--from <date>', 'created on or after (YYYY-MM-DD)')
    .option('--to <date>', 'created on or before (YYYY-MM-DD)')
    .option('--search <text>', 'free text over the recipe and tags')
    .option('--trash', 'list the trash instead')
    .addOption(new Option('--sort <order>', 'order').choices(['newest', 'oldest', 'seed']))
    .option('--limit <n>', 'at most N samples', parseIntStrict('limit'), 200)
    .action((o: Record<string, unknown>) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'gallery:query', {
          runId: o.run as string | undefined,
          checkpointSha256: o.model as string | undefined,
          sampler: o.sampler as SamplerName | undefined,
          steps: o.steps as number | undefined,
          tag: o.tag as string | undefined,
          favorite: o.favorites ? true : undefined,
          from: o.from as string | undefined,
          to: o.to as string | undefined,
          text: o.search as string | undefined,
          trash: o.trash ? true : undefined,
          sort: o.sort as 'newest' | 'oldest' | 'seed' | undefined,
          limit: o.limit as number,
        });
        out.result({ samples: r.samples, total: r.total }, () => (r.samples.length ? r.samples.map(sampleLine).join('\n') : o.trash ? 'the trash is empty' : 'no samples match'));
      }),
    );
  gallery
    .command('show <id>')
    .description('every parameter of a sample, with its tags and favourite mark')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const { sample } = await call(s, out, 'gallery:get', { id });
        const { meta } = await call(s, out, 'gallery:meta', { id });
        out.result({ sample, meta }, () => JSON.stringify({ ...sample, ...meta }, null, 2));
      }),
    );
  gallery
    .command('typicality <id>')
    .description('how typical is this image for its model: bits/dim of the sample under the checkpoint that made it (stored with the record)')
    .addOption(new Option('--method <m>', 'estimator').choices(['pf-ode', 'vlb']).default('pf-ode'))
    .option('--probes <k>', 'Hutchinson probes per ODE evaluation', parseIntStrict('probes'), 4)
    .option('--seed <s>', 'seed of the dequantisation noise and probes', parseIntStrict('seed'), 0)
    .action((id: string, o: { method: 'pf-ode' | 'vlb'; probes: number; seed: number }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'gallery:typicality', { id, method: o.method, probes: o.probes, seed: o.seed });
        const t = r.typicality;
        out.result(r, () => `${t.sampleId}: ${t.bitsPerDim.toFixed(3)} bits/dim under checkpoint ${t.checkpointId} (${t.method}, ${t.probes} probe(s)); lower = more typical for its model`);
      }),
    );
  gallery
    .command('tag <ids...>')
    .description('add or remove tags: sfumato gallery tag smp_a smp_b --add night,blue --remove draft')
    .option('--add <tags>', 'comma-separated tags to add')
    .option('--remove <tags>', 'comma-separated tags to remove')
    .option('--collection <name>', 'also put them in this collection')
    .action((ids: string[], o: { add?: string; remove?: string; collection?: string }) =>
      ctx.withService(async (s, out) => {
        if (!o.add && !o.remove && !o.collection) throw new UsageError('say what to change: --add, --remove or --collection');
        const r = await call(s, out, 'gallery:update', { ids, addTags: parseWords(o.add), removeTags: parseWords(o.remove), collection: o.collection });
        out.result(r, () => `updated ${r.updated} sample(s)`);
      }),
    );
  gallery
    .command('favorite <ids...>')
    .description('mark as favourites (--off to unmark)')
    .option('--off', 'remove the mark')
    .action((ids: string[], o: { off?: boolean }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'gallery:update', { ids, favorite: !o.off });
        out.result(r, () => `${o.off ? 'unmarked' : 'marked'} ${r.updated} sample(s)`);
      }),
    );
  gallery
    .command('delete <ids...>')
    .description('move to the trash (undo with restore; free the space with empty-trash)')
    .action((ids: string[]) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'gallery:delete', { ids });
        out.result(r, () => `moved ${r.deleted} sample(s) to the trash (undo: sfumato gallery restore ${ids.join(' ')})`);
      }),
    );
  gallery
    .command('restore <ids...>')
    .description('bring samples back from the trash')
    .action((ids: string[]) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'gallery:restore', { ids });
        out.result(r, () => `restored ${r.restored} sample(s)`);
      }),
    );
  gallery
    .command('empty-trash [ids...]')
    .description('delete trashed samples and their files for good (all of the trash without ids)')
    .action((ids: string[]) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'gallery:emptyTrash', { ids: ids.length ? ids : undefined });
        out.result(r, () => [`deleted ${r.deleted} sample(s) for good`, ...(r.notRemoved ?? []).map((n) => `  ! ${n.id}: ${n.message}`)].join('\n'));
        if (r.notRemoved?.length) {
          out.info(`sfumato: ${r.notRemoved.length} file(s) could not be removed; their samples stay in the trash (listed above).`);
          return 1;
        }
      }),
    );
}
