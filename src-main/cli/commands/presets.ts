/**
 * `sfumato presets list|export|import`: the library's saved schedules and sampling / training
 * presets, through the `presets:*` channels (the same ones the app and web mode call). Also the
 * lookup `train --schedule NAME`, `train --preset NAME` and `sample --preset NAME` use.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { PRESET_KINDS, type Preset, type PresetBodies, type PresetKind } from '../../api/presets';
import { readUserFile } from '../../services/context';
import type { Sfumato } from '../../services/sfumato';
import { writeFileAtomic } from '../../db/files';
import { call, type CliContext } from '../context';
import type { Output } from '../output';
import { UsageError } from '../parse';

/** An export file is a few kB; this bounds what `import` reads. */
const MAX_FILE_BYTES = 16 * 2 ** 20;

const KIND_FLAG = { schedule: '--schedule', sampling: '--preset', training: '--preset' } as const;

/** The saved preset of a kind by name, through presets:list; a usage error lists the names there are. */
export async function savedPreset<K extends PresetKind>(s: Sfumato, out: Output, kind: K, name: string): Promise<PresetBodies[K]> {
  const { presets } = await call(s, out, 'presets:list', { kind });
  const p = presets.find((x) => x.name === name);
  if (!p) {
    const names = presets.map((x) => `"${x.name}"`).join(', ') || 'none';
    throw new UsageError(`${KIND_FLAG[kind]} ${name}: no ${kind === 'schedule' ? 'saved schedule' : `${kind} preset`} of that name in this library (saved: ${names}). See sfumato presets list.`);
  }
  return p.body as PresetBodies[K];
}

function presetLine(p: Preset): string {
  return `${p.id}  ${p.kind.padEnd(8)}  ${p.name}`;
}

export function register(program: Command, ctx: CliContext): void {
  const presets = program.command('presets').description('saved schedules and sampling / training presets of the library');
  const kindOption = () => new Option('--kind <kind>', 'only this kind').choices([...PRESET_KINDS]);

  presets
    .command('list')
    .description('list the saved presets')
    .addOption(kindOption())
    .action((o: { kind?: PresetKind }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'presets:list', { kind: o.kind });
        out.result(r, () => r.presets.map(presetLine).join('\n') || 'no saved presets');
      }),
    );

  presets
    .command('export [file]')
    .description('write presets to a JSON file (all of them, one kind, or the named ones); without a file, print it')
    .addOption(kindOption())
    .option('--name <name...>', 'only the presets of these names')
    .action((file: string | undefined, o: { kind?: PresetKind; name?: string[] }) =>
      ctx.withService(async (s, out) => {
        let ids: string[] | undefined;
        if (o.name) {
          const all = (await call(s, out, 'presets:list', { kind: o.kind })).presets;
          ids = o.name.map((n) => {
            const p = all.filter((x) => x.name === n);
            if (p.length === 0) throw new UsageError(`--name ${n}: no saved preset of that name${o.kind ? ` and kind ${o.kind}` : ''}; see sfumato presets list.`);
            if (p.length > 1) throw new UsageError(`--name ${n}: a ${p.map((x) => x.kind).join(' and a ')} preset have that name; add --kind.`);
            return p[0].id;
          });
        }
        const r = await call(s, out, 'presets:export', { kind: o.kind, ids });
        if (!file) {
          out.result(r.file, () => JSON.stringify(r.file, null, 2));
          return;
        }
        const path = resolve(file);
        await writeFileAtomic(path, JSON.stringify(r.file, null, 2) + '\n');
        out.result({ file: path, presets: r.file.presets.length }, () => `wrote ${r.file.presets.length} preset(s) to ${path}`);
      }),
    );

  presets
    .command('import <file>')
    .description('add the presets of an exported JSON file to this library (checked first; a bad file imports nothing)')
    .addOption(new Option('--on-conflict <what>', 'a preset whose name is taken: save it as "name (2)", replace the saved one, or skip it').choices(['rename', 'replace', 'skip']).default('rename'))
    .action((file: string, o: { onConflict: 'rename' | 'replace' | 'skip' }) =>
      ctx.withService(async (s, out) => {
        const parsed = await readPresetFile(file);
        const r = await call(s, out, 'presets:import', { file: parsed, onConflict: o.onConflict });
        out.result(r, () =>
          [
            `imported ${r.imported.length} preset(s) from ${file}`,
            ...r.renamed.map((x) => `  ${x.kind} "${x.from}" was taken: saved as "${x.to}"`),
            ...r.skipped.map((x) => `  ${x.kind} "${x.name}" was taken: skipped`),
          ].join('\n'),
        );
      }),
    );
}

/** The file's JSON (regular files only, bounded: a FIFO or a huge file is refused at once). */
async function readPresetFile(file: string): Promise<unknown> {
  const text = (await readUserFile(file, MAX_FILE_BYTES, 'file')).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message}); give a file written by sfumato presets export or the app's Export.`);
  }
}
