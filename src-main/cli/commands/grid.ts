/**
 * `sfumato sample grid --x seed=1,2,3 --y sampler=ddim,euler …`: an X/Y grid through the
 * `sample:grid` channel. Axis values are a comma list, or ranges for numbers (`steps=10-40:10`);
 * parsing is api/grid.ts's, the same the Sample page uses.
 */
import { Option, type Command } from 'commander';
import { AXIS_KIND_NAMES, parseAxisValues, type AxisKind } from '../../api/grid';
import type { GridAxisSpec, SamplerName } from '../../api/types';
import { SAMPLER_NAMES } from '../../diffusion/samplers/index';
import { addSamplerOptionFlags, samplerOptionsFrom } from '../sampler-flags';
import { call, sampleLine, type CliContext } from '../context';
import { parseIntStrict, parseNum, UsageError } from '../parse';

/** `kind=v1,v2,…` -> an axis; the error names the flag and what to write. */
export function parseAxisFlag(flag: string, text: string): GridAxisSpec {
  const m = /^([a-z]+)=(.*)$/s.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: write kind=values, e.g. ${flag} seed=1,2,3 (kinds: ${AXIS_KIND_NAMES.join(', ')})`);
  const kind = m[1] as AxisKind;
  if (!AXIS_KIND_NAMES.includes(kind)) throw new UsageError(`${flag}: unknown axis "${m[1]}"; use one of ${AXIS_KIND_NAMES.join(', ')}`);
  try {
    return { kind, values: parseAxisValues(kind, m[2]) };
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

export function register(sample: Command, ctx: CliContext): void {
  const cmd = sample
    .command('grid')
    .description('X/Y grid: every combination of two axes (seed, sampler, steps, checkpoint, spacing, class, guidance), each cell a gallery sample, plus a labelled grid image')
    .requiredOption('--x <kind=values>', 'X axis, e.g. seed=1,2,3 or steps=10-40:10')
    .requiredOption('--y <kind=values>', 'Y axis, e.g. sampler=ddim,dpmpp-2m or spacing=leading,trailing')
    .option('--run <id>', 'run id (its latest checkpoint)')
    .option('--checkpoint <id>', 'checkpoint id')
    .option('--model <id>', 'a bundled or imported model')
    .addOption(new Option('--engine <name>', 'network engine').choices(['auto', 'onnx', 'tfjs']).default('auto'))
    .option('--seed <n>', 'base seed (when seed is not an axis)', parseIntStrict('seed'))
    .addOption(new Option('--sampler <name>', 'base sampler').choices([...SAMPLER_NAMES]).default('ddim'))
    .option('--steps <n>', 'base sampler steps', parseIntStrict('steps'), 20);
  addSamplerOptionFlags(cmd, { num: parseNum, int: parseIntStrict });
  cmd.action((own: Record<string, unknown>) =>
    ctx.withService(async (s, out) => {
      // `sample` has the same flags (--run, --sampler, …) and commander gives them to it even after
      // `grid`: take the ones typed on the command line from there.
      const o = { ...own };
      for (const [k, v] of Object.entries(sample.opts())) if (sample.getOptionValueSource(k) === 'cli') o[k] = v;
      const x = parseAxisFlag('--x', o.x as string);
      const y = parseAxisFlag('--y', o.y as string);
      if (!o.run && !o.checkpoint && !o.model && x.kind !== 'checkpoint' && y.kind !== 'checkpoint') {
        throw new UsageError('say what to sample from: --run <id>, --checkpoint <id> or --model <id> (or make checkpoint an axis)');
      }
      const r = await call(s, out, 'sample:grid', {
        runId: o.run as string | undefined,
        checkpointId: o.checkpoint as string | undefined,
        modelId: o.model as string | undefined,
        engine: o.engine as 'auto' | 'onnx' | 'tfjs',
        seed: o.seed as number | undefined,
        sampler: o.sampler as SamplerName,
        steps: o.steps as number,
        options: samplerOptionsFrom(o),
        // class-conditional models: base class / guidance (the `sample` flags), unless an axis
        ...(o.class !== undefined ? { class: String(o.class) } : {}),
        ...(o.guidance !== undefined ? { guidance: o.guidance as number } : {}),
        x,
        y,
      });
      out.result(r, () => [...r.cells.map(sampleLine), ...(r.grid ? [`grid ${sampleLine(r.grid)}`] : [])].join('\n'));
      if (r.cancelled) out.info(`sfumato: cancelled: ${r.cells.length} cell(s) were finished and are in the gallery (tag grid:${r.gridId}); no grid image was written.`);
      return r.cancelled ? 1 : 0;
    }),
  );
}
