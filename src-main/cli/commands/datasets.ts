/** `sfumato datasets …`: import and inspect image folders. */
import type { Command } from 'commander';
import { call, type CliContext } from '../context';
import { parseIntStrict } from '../parse';
import { registerOutliers } from './eval';

export function register(program: Command, ctx: CliContext): void {
  const datasets = program.command('datasets').description('import and inspect image folders');
  datasets
    .command('import <dir>')
    .description('import a folder of images (recursive; bad files are listed, the rest imports)')
    .option('--name <name>', 'dataset name (default: the folder name)')
    .option('--image-size <px>', 'training resolution of the prepared cache', parseIntStrict('image-size'), 32)
    .option('--background <#rrggbb>', 'colour that replaces transparency', '#ffffff')
    .option('--labels <source>', 'class labels for class-conditional training: subfolders (class = folder name below <dir>; images directly in <dir> are unlabelled) or none', 'none')
    .action((dir: string, o: { name?: string; imageSize: number; background: string; labels: string }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:import', { dir, name: o.name, imageSize: o.imageSize, background: o.background, labels: o.labels as 'none' });
        out.result(r, () =>
          [
            `dataset ${r.dataset.id} "${r.dataset.name}": imported ${r.imported} image(s) at ${r.dataset.imageSize} px`,
            ...(r.errors.length ? [`${r.errors.length} file(s) not imported:`, ...r.errors.map((e) => `  ${e.file}: ${e.code}: ${e.message}`)] : []),
            ...(r.classes.length ? [`${r.classes.length} class(es): ${r.classes.map((c) => `${c.name} (${c.count})`).join(', ')}`] : []),
            ...(r.captionFiles ? [`${r.captionFiles} caption file(s) found: captions are not used for training yet`] : []),
          ].join('\n'),
        );
      }),
    );
  datasets
    .command('list')
    .description('list datasets')
    .action(() =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:list', {});
        out.result(r, () => (r.datasets.length ? r.datasets.map((d) => `${d.id}  ${d.name}  ${d.itemCount} images  ${d.imageSize}px  ${d.errorCount} problem(s)`).join('\n') : 'no datasets yet: sfumato datasets import <dir>'));
      }),
    );
  datasets
    .command('show <id>')
    .description('a dataset with its items and problems')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:get', { id });
        const d = r.dataset;
        out.result(r, () =>
          [
            `${d.id}  ${d.name}  ${d.itemCount} images${d.excludedCount ? ` (${d.excludedCount} excluded)` : ''}  ${d.imageSize}px  from ${d.sourceDir}`,
            ...(d.classes.length ? [`classes: ${d.classes.map((c) => `${c.name} (${c.count})`).join(', ')}`] : []),
            ...d.items.map((i) => `  ${i.id}  ${i.file}  ${i.format} ${i.width}x${i.height}${i.class !== null ? `  [${i.class}]` : ''}${i.excluded ? '  (excluded)' : ''}`), ...d.errors.map((e) => `  ! ${e.file}: ${e.code}: ${e.message}`)].join('\n'),
        );
      }),
    );
  datasets
    .command('rename <id> <name>')
    .description('rename a dataset')
    .action((id: string, name: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:rename', { id, name });
        out.result(r, () => `${r.dataset.id} is now "${r.dataset.name}"`);
      }),
    );
  datasets
    .command('rename-class <id> <from> <to>')
    .description('rename a class of a labelled dataset; naming an existing class merges the two (runs already started keep their labels)')
    .action((id: string, from: string, to: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:renameClass', { id, from, to });
        out.result(r, () => `${r.dataset.id} classes: ${r.dataset.classes.map((c) => `${c.name} (${c.count})`).join(', ')}`);
      }),
    );
  for (const [verb, excluded] of [['exclude', true], ['include', false]] as const) {
    datasets
      .command(`${verb} <id> <itemIds...>`)
      .description(excluded ? 'leave images out of training (ids from `datasets show`); runs already started keep theirs' : 'take excluded images back into training')
      .action((id: string, itemIds: string[]) =>
        ctx.withService(async (s, out) => {
          const r = await call(s, out, 'datasets:exclude', { id, itemIds, excluded });
          out.result(r, () => `${r.dataset.id}: ${r.dataset.itemCount} image(s) used for training, ${r.dataset.excludedCount} excluded`);
        }),
      );
  }
  registerOutliers(datasets, ctx);
  datasets
    .command('remove <id>')
    .description('remove a dataset and its prepared cache (the source folder is not touched)')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:remove', { id });
        out.result(r, () => (r.removed ? `removed ${id}` : `no dataset ${id}`));
      }),
    );
}
