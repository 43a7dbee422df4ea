/**
 * `sfumato eval likelihood`: bits/dim of a run's (or a model's) checkpoint on dataset images, and
 * `sfumato datasets outliers` / `sfumato gallery typicality` (registered in their groups): the
 * same likelihood job (services/likelihood.ts) behind three questions.
 */
import { Option, type Command } from 'commander';
import type { LikelihoodReport, OutlierReport } from '../../api/types';
import { call, type CliContext } from '../context';
import { parseIntStrict, parseNum } from '../parse';

const fmt = (v: number, se?: number) => `${v.toFixed(3)}${se !== undefined ? ` ± ${se.toFixed(3)}` : ''}`;

export function likelihoodText(r: LikelihoodReport): string {
  const what = r.images === 'held-out' ? 'held-out images' : r.images === 'all' ? 'images (all included)' : 'images (seeded sample)';
  const lines = [`${r.runId ?? r.modelId} checkpoint ${r.checkpoint.id} on ${r.n} ${what} of ${r.datasetId}, seed ${r.seed}, ${r.probes} probe(s), ${r.backend}, ${r.wallSeconds.toFixed(1)} s`];
  for (const e of r.results) {
    lines.push(`  ${e.method.padEnd(6)} ${fmt(e.bitsPerDim, e.stdErr)} bits/dim (${e.data === 'dequantised' ? 'uniformly dequantised 8-bit data' : 'discrete 8-bit data'}), ${Math.round(e.nfe)} network evaluations per batch`);
  }
  return lines.join('\n');
}

export function outliersText(r: OutlierReport): string {
  return [
    `${r.scored} image(s) of ${r.datasetId} scored with ${r.method} (mean ${fmt(r.meanBitsPerDim)} bits/dim); least typical first:`,
    ...r.outliers.map((o) => `  ${String(o.rank).padStart(3)}. ${fmt(o.bitsPerDim)} bits/dim  ${o.datasetItemId}  ${o.file}`),
    'high = least typical under the model. Likelihood favours simple images (flat colours score well, busy ones badly), so a low score does not mean a good image.',
  ].join('\n');
}

const modelOptions = (c: Command) =>
  c
    .option('--run <id>', "the run (its latest checkpoint, EMA weights)")
    .option('--checkpoint <id>', 'a checkpoint id (checkpoints list)')
    .option('--model <id>', 'a bundled or imported model (give --dataset too)');

export function register(program: Command, ctx: CliContext): void {
  const ev = program.command('eval').description('measure a model: likelihood (bits/dim)');
  modelOptions(ev.command('likelihood'))
    .description('bits/dim of a model on dataset images: the PF-ODE (dequantised) and the VLB (discrete), with standard errors')
    .option('--dataset <id>', "the images to score (default: the run's dataset)")
    .option('--held-out', "only the run's held-out images (images of its dataset it did not train on); an error when it has none")
    .addOption(new Option('--method <m>', 'estimator').choices(['pf-ode', 'vlb', 'both']).default('both'))
    .option('--n <count>', 'number of images (a seeded sample when the dataset has more)', parseIntStrict('n'), 16)
    .option('--probes <k>', 'Hutchinson probes per ODE evaluation', parseIntStrict('probes'), 1)
    .option('--seed <s>', 'seed of the image sample, dequantisation noise, probes and VLB noise', parseIntStrict('seed'), 0)
    .option('--batch <b>', 'images per batch', parseIntStrict('batch'), 8)
    .option('--tol <t>', 'ODE solver tolerance (rtol = atol)', parseNum('tol'), 1e-3)
    .option('--record', "store the result with the run (the dashboard's likelihood curve)")
    .action((o: { run?: string; checkpoint?: string; model?: string; dataset?: string; heldOut?: boolean; method: 'pf-ode' | 'vlb' | 'both'; n: number; probes: number; seed: number; batch: number; tol: number; record?: boolean }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'eval:likelihood', {
          runId: o.run,
          checkpointId: o.checkpoint,
          modelId: o.model,
          datasetId: o.dataset,
          heldOut: o.heldOut,
          method: o.method,
          n: o.n,
          probes: o.probes,
          seed: o.seed,
          batch: o.batch,
          tol: o.tol,
          record: o.record,
        });
        out.result(r, () => likelihoodText(r));
      }),
    );
}

/** `datasets outliers D --run R`: registered by the datasets group. */
export function registerOutliers(datasets: Command, ctx: CliContext): void {
  modelOptions(datasets.command('outliers <id>'))
    .description("rank a dataset's included images by how untypical they are under a model (NLL in bits/dim, highest first)")
    .option('--top <k>', 'how many to list', parseIntStrict('top'), 10)
    .addOption(new Option('--method <m>', 'estimator').choices(['pf-ode', 'vlb']).default('pf-ode'))
    .option('--probes <k>', 'Hutchinson probes per ODE evaluation', parseIntStrict('probes'), 1)
    .option('--seed <s>', 'seed', parseIntStrict('seed'), 0)
    .option('--limit <n>', 'score only the first n included images', parseIntStrict('limit'))
    .option('--tol <t>', 'ODE solver tolerance', parseNum('tol'), 1e-3)
    .action((id: string, o: { run?: string; checkpoint?: string; model?: string; top: number; method: 'pf-ode' | 'vlb'; probes: number; seed: number; limit?: number; tol: number }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'datasets:outliers', { id, runId: o.run, checkpointId: o.checkpoint, modelId: o.model, top: o.top, method: o.method, probes: o.probes, seed: o.seed, limit: o.limit, tol: o.tol });
        out.result(r, () => outliersText(r));
      }),
    );
}
