/** `sfumato info`: versions, library folder and the active training backend. */
import type { Command } from 'commander';
import { call, type CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('info')
    .description('versions, library folder and the active training backend')
    .action(() =>
      ctx.withService(async (s, out) => {
        const info = await call(s, out, 'system:info', {});
        out.result({ info }, () =>
          [
            `Sfumato ${info.appVersion}`,
            `library: ${info.libraryPath}`,
            `training backend: ${info.backend.active}`,
            ...Object.entries(info.backend.unavailable).map(([k, v]) => `  ${k}: ${v}`),
            ...Object.entries(info.versions).map(([k, v]) => `${k} ${v}`),
          ].join('\n'),
        );
      }),
    );
}
