/** `sfumato info`: versions, library folder, the active training backend and the provider table. */
import type { Command } from 'commander';
import type { ProviderStatus } from '../../api/types';
import { call, type CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('info')
    .description('versions, library folder, the active training backend and the ONNX Runtime execution providers')
    .option('--no-providers', 'skip the execution provider probe (it takes seconds: a real tiny step on each provider)')
    .action((o: { providers: boolean }) =>
      ctx.withService(async (s, out) => {
        const info = await call(s, out, 'system:info', {});
        const providers = o.providers ? await call(s, out, 'system:providers', {}) : undefined;
        const table = (title: string, rows: ProviderStatus[]) => [
          `${title} (* = selected):`,
          ...rows.map((r) => `  ${r.selected ? '*' : ' '} ${r.provider.padEnd(7)} ${(r.available ? 'available' : 'unavailable').padEnd(12)} ${r.why}`),
        ];
        out.result({ info: { ...info, ...(providers ? { providers } : {}) } }, () =>
          [
            `Sfumato ${info.appVersion}`,
            `library: ${info.libraryPath}`,
            `training backend: ${info.backend.active}`,
            ...Object.entries(info.backend.unavailable).map(([k, v]) => `  ${k}: ${v}`),
            ...(providers ? [...table('ONNX Runtime providers for training', providers.training), ...table('ONNX Runtime providers for sampling', providers.sampling)] : []),
            ...Object.entries(info.versions).map(([k, v]) => `${k} ${v}`),
          ].join('\n'),
        );
      }),
    );
}
