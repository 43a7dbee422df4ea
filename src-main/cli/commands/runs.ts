/** `sfumato runs …`: list, show, rename, delete, resume and cancel training runs. */
import type { Command } from 'commander';
import { call, keptLine, runLine, type CliContext } from '../context';
import { runEnd } from './train';

export function register(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('training runs');
  runs
    .command('list')
    .option('--dataset <id>', 'only runs of this dataset')
    .action((o: { dataset?: string }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'runs:list', { datasetId: o.dataset });
        out.result(r, () => (r.runs.length ? r.runs.map(runLine).join('\n') : 'no runs yet: sfumato train --dataset <id>'));
      }),
    );
  runs
    .command('show <id>')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'runs:get', { id });
        out.result(r, () =>
          [
            runLine(r.run),
            ...r.run.checkpoints.map((c) => `  checkpoint ${c.id} step ${c.step} ${c.file}`),
            `  weights digest: ${r.run.weightsDigest ?? '(no checkpoint)'}`,
            `  parameters: ${r.run.trainableParams.toLocaleString('en')} trained of ${r.run.totalParams.toLocaleString('en')}${r.run.config.lora ? ` (LoRA rank ${r.run.config.lora.rank}, alpha ${r.run.config.lora.alpha}, ${r.run.config.lora.targets.join(',')}; adapter file beside each checkpoint: .lora.safetensors)` : ''}`,
          ].join('\n'),
        );
      }),
    );
  runs
    .command('resume <id>')
    .description('same as train --resume <id>, without waiting')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const { run } = await s.api['runs:resume']({ id });
        out.info('training in the background of this command; it ends when the run ends');
        const final = await runEnd(s, run);
        out.result({ run: final }, () => runLine(final));
        if (final.status === 'cancelled') out.info(`sfumato: cancelled: run ${final.id} stopped at step ${final.step}; ${await keptLine(s, final.id)}`);
        return ['cancelled', 'failed', 'interrupted'].includes(final.status) ? 1 : 0;
      }),
    );
  runs
    .command('cancel <id>')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'runs:cancel', { id });
        out.result(r, () => runLine(r.run));
      }),
    );
  runs
    .command('rename <id> <name>')
    .description('give a run a name (shown wherever the run is)')
    .action((id: string, name: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'runs:rename', { id, name });
        out.result(r, () => runLine(r.run));
      }),
    );
  runs
    .command('delete <id>')
    .description('delete a run (cancel it first): its losses, previews and checkpoints, except checkpoints gallery images came from')
    .action((id: string) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'runs:delete', { id });
        out.result(r, () =>
          [
            `deleted run ${id}` + (r.keptCheckpoints ? `; kept ${r.keptCheckpoints} checkpoint(s) that gallery images came from, so they can still be reproduced` : ''),
            ...(r.notRemoved ?? []).map((f) => `  could not remove ${f.file}: ${f.message} (remove it by hand)`),
          ].join('\n'),
        );
      }),
    );
}
