/**
 * The `sfumato` command line: the same service layer as the desktop app and web mode.
 * Exit codes: 0 success, 1 failure, 2 bad usage or bad input.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ApiError } from '../api/errors';
import type { JobProgress, Run, SampleRecord, SamplerName, TrainConfig } from '../api/types';
import { SAMPLER_NAMES } from '../diffusion/samplers/index';
import { addSamplerOptionFlags, samplerOptionsFrom } from './sampler-flags';
import { Sfumato } from '../services/sfumato';
import { APP_VERSION } from '../services/system';
import { Output } from './output';
import { addBenchCommands, BenchInputError } from './bench';

interface GlobalOpts {
  dataDir?: string;
  json?: boolean;
}

/** Thrown for bad usage: exit code 2. */
class UsageError extends Error {}

function parseIntStrict(name: string) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`--${name} must be an integer (got "${v}")`);
    return Number(v);
  };
}
function parseNum(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${v}")`);
    return n;
  };
}
function parseList(name: string) {
  return (v: string): number[] => {
    if (v.trim() === '') return [];
    return v.split(',').map((x) => parseIntStrict(name)(x));
  };
}

/** Set by Ctrl-C in withService; the long commands turn it into a "cancelled" line and exit 1. */
let interrupted = false;

async function withService(g: GlobalOpts, fn: (s: Sfumato, out: Output, signal: AbortSignal) => Promise<number | void>): Promise<void> {
  const s = await Sfumato.open({ libraryPath: g.dataDir, mode: 'cli' });
  const out = new Output(!!g.json);
  const abort = new AbortController();
  let sweeper: NodeJS.Timeout | undefined;
  const force = () => {
    process.stderr.write('sfumato: stopped (Ctrl-C twice); a training run resumes from its last checkpoint with sfumato train --resume <run>\n');
    process.exit(130);
  };
  // Ctrl-C: cancel running jobs politely (and any job that starts after it), then leave.
  const onSigint = () => {
    interrupted = true;
    out.info('cancelling… (Ctrl-C again to force)');
    abort.abort();
    const cancelAll = () => {
      for (const j of s.jobs.list()) s.jobs.get(j.id)?.cancel();
    };
    cancelAll();
    sweeper = setInterval(cancelAll, 100);
    sweeper.unref();
    process.once('SIGINT', force);
  };
  process.once('SIGINT', onSigint);
  try {
    const r = await fn(s, out, abort.signal);
    if (typeof r === 'number') lastActionCode = r;
  } finally {
    if (sweeper) clearInterval(sweeper);
    process.off('SIGINT', onSigint);
    await s.close();
    process.off('SIGINT', force);
  }
}

/** The samples made, and a "cancelled" line on stderr when Ctrl-C stopped the job early (exit 1). */
function printSamples(out: Output, r: { samples: SampleRecord[]; cancelled: boolean }): number {
  out.result({ samples: r.samples, cancelled: r.cancelled }, () => r.samples.map(sampleLine).join('\n'));
  if (r.cancelled) out.info(`sfumato: cancelled: ${r.samples.length} image(s) were finished before Ctrl-C and are in the gallery; nothing else was written.`);
  return r.cancelled ? 1 : 0;
}

/** What a cancelled run leaves: its checkpoints (to sample or resume), or none yet. */
async function keptLine(s: Sfumato, runId: string): Promise<string> {
  const n = await s.store.checkpoints.count(runId);
  return n > 0
    ? `its ${n} checkpoint(s) are kept (sample them with sfumato sample --run ${runId}, or continue with sfumato train --resume ${runId}).`
    : 'no checkpoint had been written yet, so there is nothing to sample or resume.';
}

function runLine(r: Run): string {
  const loss = r.lastLoss === null ? '' : ` loss ${r.lastLoss.toFixed(5)}`;
  return `${r.id}  ${r.status.padEnd(11)} step ${r.step}/${r.config.steps}${loss}  dataset ${r.datasetId}  seed ${r.seed}${r.error ? `  (${r.error})` : ''}`;
}

function sampleLine(s: SampleRecord): string {
  return `${s.id}  seed ${s.seed}  ${s.sampler} ${s.steps} steps  ${s.width}x${s.height}  ckpt ${s.checkpoint.id}  ${s.file}`;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('sfumato')
    .description('Train small diffusion models on your own images and make art with them.')
    .version(APP_VERSION)
    .option('--data-dir <dir>', 'library folder (default: $SFUMATO_HOME or ~/.local/share/sfumato)')
    .option('--json', 'print exactly one JSON object on stdout at the end (progress goes to stderr)')
    .showHelpAfterError();
  const g = (): GlobalOpts => program.opts<GlobalOpts>();

  program
    .command('info')
    .description('versions, library folder and the active training backend')
    .action(() =>
      withService(g(), async (s, out) => {
        const info = await s.api['system:info']({});
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

  // ---------------------------------------------------------------- datasets
  const datasets = program.command('datasets').description('import and inspect image folders');
  datasets
    .command('import <dir>')
    .description('import a folder of images (recursive; bad files are listed, the rest imports)')
    .option('--name <name>', 'dataset name (default: the folder name)')
    .option('--image-size <px>', 'training resolution of the prepared cache', parseIntStrict('image-size'), 32)
    .option('--background <#rrggbb>', 'colour that replaces transparency', '#ffffff')
    .action((dir: string, o: { name?: string; imageSize: number; background: string }) =>
      withService(g(), async (s, out, signal) => {
        const r = await s.importDataset({ dir, name: o.name, imageSize: o.imageSize, background: o.background }, (p) => out.progress(p), signal);
        out.result(r, () =>
          [
            `dataset ${r.dataset.id} "${r.dataset.name}": imported ${r.imported} image(s) at ${r.dataset.imageSize} px`,
            ...(r.errors.length ? [`${r.errors.length} file(s) not imported:`, ...r.errors.map((e) => `  ${e.file}: ${e.code}: ${e.message}`)] : []),
          ].join('\n'),
        );
      }),
    );
  datasets
    .command('list')
    .description('list datasets')
    .action(() =>
      withService(g(), async (s, out) => {
        const r = await s.api['datasets:list']({});
        out.result(r, () => (r.datasets.length ? r.datasets.map((d) => `${d.id}  ${d.name}  ${d.itemCount} images  ${d.imageSize}px  ${d.errorCount} problem(s)`).join('\n') : 'no datasets yet: sfumato datasets import <dir>'));
      }),
    );
  datasets
    .command('show <id>')
    .description('a dataset with its items and problems')
    .action((id: string) =>
      withService(g(), async (s, out) => {
        const r = await s.api['datasets:get']({ id });
        const d = r.dataset;
        out.result(r, () =>
          [`${d.id}  ${d.name}  ${d.itemCount} images  ${d.imageSize}px  from ${d.sourceDir}`, ...d.items.map((i) => `  ${i.file}  ${i.format} ${i.width}x${i.height}`), ...d.errors.map((e) => `  ! ${e.file}: ${e.code}: ${e.message}`)].join('\n'),
        );
      }),
    );
  datasets
    .command('remove <id>')
    .description('remove a dataset and its prepared cache (the source folder is not touched)')
    .action((id: string) =>
      withService(g(), async (s, out) => {
        const r = await s.api['datasets:remove']({ id });
        out.result(r, () => (r.removed ? `removed ${id}` : `no dataset ${id}`));
      }),
    );

  // ---------------------------------------------------------------- training
  program
    .command('train')
    .description('train a diffusion model on a dataset (blocks and shows progress; Ctrl-C cancels)')
    .option('--dataset <id>', 'dataset id (ds_…)')
    .option('--resume <run>', 'continue an interrupted run from its last checkpoint')
    .option('--init-checkpoint <id>', 'fine-tune: start from this checkpoint (architecture and schedule come from it)')
    .option('--init-model <id>', 'fine-tune: start from a bundled base model')
    .option('--reset-optimizer', 'fine-tune: start the optimiser afresh')
    .option('--config <file.json>', 'run configuration JSON; flags override it')
    .option('--seed <n>', 'random seed (default: random, always recorded)', parseIntStrict('seed'))
    .option('--image-size <px>', 'image size', parseIntStrict('image-size'))
    .option('--base-channels <n>', 'UNet base width', parseIntStrict('base-channels'))
    .option('--channel-mults <list>', 'channel multipliers per level, e.g. 1,2,2', parseList('channel-mults'))
    .option('--res-blocks <n>', 'residual blocks per level', parseIntStrict('res-blocks'))
    .option('--attention <list>', 'attention resolutions, e.g. 8 (empty for none)', parseList('attention'))
    .option('--groups <n>', 'GroupNorm groups', parseIntStrict('groups'))
    .option('--dropout <p>', 'dropout rate', parseNum('dropout'))
    .option('--batch <n>', 'batch size', parseIntStrict('batch'))
    .option('--grad-accum <n>', 'micro-batches per optimiser step', parseIntStrict('grad-accum'))
    .addOption(new Option('--optimizer <name>', 'optimiser').choices(['adam', 'adamw']))
    .option('--lr <x>', 'learning rate (default 2e-4; 5e-5 when fine-tuning)', parseNum('lr'))
    .option('--weight-decay <x>', 'decoupled weight decay (adamw)', parseNum('weight-decay'))
    .option('--warmup <n>', 'learning-rate warm-up steps', parseIntStrict('warmup'))
    .addOption(new Option('--lr-schedule <name>', 'learning-rate schedule after warm-up').choices(['constant', 'cosine']))
    .option('--min-lr <x>', 'final learning rate of the cosine decay', parseNum('min-lr'))
    .option('--grad-clip <x>', 'clip the global gradient norm (0 = off)', parseNum('grad-clip'))
    .option('--ema <x>', 'EMA decay', parseNum('ema'))
    .option('--schedule <name|json>', 'noise schedule: linear, scaled-linear, cosine, sigmoid, vp, subvp, ve, edm, or a JSON object')
    .addOption(new Option('--objective <name>', 'what the network predicts').choices(['eps', 'x0', 'v', 'score', 'edm']))
    .addOption(new Option('--weighting <name>', 'loss weighting over noise levels').choices(['uniform', 'min-snr', 'p2']))
    .option('--min-snr-gamma <x>', 'gamma of min-SNR weighting', parseNum('min-snr-gamma'))
    .option('--no-hflip', 'no random horizontal flips')
    .option('--steps <n>', 'training steps', parseIntStrict('steps'))
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps (and at the end)', parseIntStrict('checkpoint-every'))
    .option('--keep <n>', 'keep the newest N checkpoints (0 = all)', parseIntStrict('keep'))
    .option('--preview-every <n>', 'preview grid from the EMA weights every N steps (0 = off)', parseIntStrict('preview-every'))
    .addOption(new Option('--backend <name>', 'training backend (auto: the best that starts)').choices(['auto', 'tensorflow', 'webgpu', 'onnxruntime', 'wasm', 'cpu']))
    .option('--workers <n>', 'data-parallel gradient workers (0 = one per core on wasm)', parseIntStrict('workers'))
    .action((o: Record<string, unknown>) =>
      withService(g(), async (s, out) => {
        const onProgress = (p: JobProgress) => out.progress(p);
        s.events.on('jobs:progress', onProgress);
        let started: Awaited<ReturnType<Sfumato['startRun']>>;
        if (o.resume) {
          started = await s.resumeRun(String(o.resume));
          out.info(`run ${started.run.id} resumed at step ${started.run.step}`);
        } else {
          if (!o.dataset) throw new UsageError('say which dataset to train on: --dataset <id> (or --resume <run>)');
          let config: Record<string, unknown> = {};
          if (o.config) {
            try {
              config = JSON.parse(readFileSync(String(o.config), 'utf8')) as Record<string, unknown>;
            } catch (e) {
              throw new UsageError(`--config ${String(o.config)}: cannot read it as JSON (${(e as Error).message}).`);
            }
            if (!config || typeof config !== 'object' || Array.isArray(config)) throw new UsageError(`--config ${String(o.config)} must hold a JSON object.`);
          }
          let schedule: unknown = o.schedule;
          if (typeof schedule === 'string' && schedule.trim().startsWith('{')) {
            try {
              schedule = JSON.parse(schedule);
            } catch (e) {
              throw new UsageError(`--schedule: not valid JSON (${(e as Error).message}).`);
            }
          }
          const flags: Record<string, unknown> = {
            imageSize: o.imageSize,
            baseChannels: o.baseChannels,
            channelMults: o.channelMults,
            resBlocks: o.resBlocks,
            attentionResolutions: o.attention,
            groups: o.groups,
            dropout: o.dropout,
            batchSize: o.batch,
            gradAccum: o.gradAccum,
            optimizer: o.optimizer,
            lr: o.lr,
            weightDecay: o.weightDecay,
            warmupSteps: o.warmup,
            lrSchedule: o.lrSchedule,
            minLr: o.minLr,
            gradClip: o.gradClip,
            ema: o.ema,
            schedule,
            objective: o.objective,
            weighting: o.weighting,
            minSnrGamma: o.minSnrGamma,
            hflip: o.hflip === false ? false : undefined,
            steps: o.steps,
            checkpointEvery: o.checkpointEvery,
            keepCheckpoints: o.keep,
            previewEvery: o.previewEvery,
            backend: o.backend,
            workers: o.workers,
          };
          for (const [k, v] of Object.entries(flags)) if (v !== undefined) config[k] = v;
          started = await s.startRun({
            datasetId: String(o.dataset),
            seed: o.seed as number | undefined,
            config: config as Partial<TrainConfig>,
            initCheckpointId: o.initCheckpoint as string | undefined,
            initModelId: o.initModel as string | undefined,
            resetOptimizer: o.resetOptimizer === true ? true : undefined,
          });
          out.info(`run ${started.run.id} started (seed ${started.run.seed})`);
        }
        const final = await started.done;
        s.events.off('jobs:progress', onProgress);
        out.result({ run: final }, () => runLine(final));
        if (final.status === 'cancelled') {
          out.info(`sfumato: cancelled: run ${final.id} stopped at step ${final.step} of ${final.config.steps}; ${await keptLine(s, final.id)}`);
          return 1;
        }
        if (final.status === 'failed' || final.status === 'interrupted') return 1;
        return 0;
      }),
    );

  const runs = program.command('runs').description('training runs');
  runs
    .command('list')
    .option('--dataset <id>', 'only runs of this dataset')
    .action((o: { dataset?: string }) =>
      withService(g(), async (s, out) => {
        const r = await s.api['runs:list']({ datasetId: o.dataset });
        out.result(r, () => (r.runs.length ? r.runs.map(runLine).join('\n') : 'no runs yet: sfumato train --dataset <id>'));
      }),
    );
  runs
    .command('show <id>')
    .action((id: string) =>
      withService(g(), async (s, out) => {
        const r = await s.api['runs:get']({ id });
        out.result(r, () =>
          [
            runLine(r.run),
            ...r.run.checkpoints.map((c) => `  checkpoint ${c.id} step ${c.step} ${c.file}`),
            `  weights digest: ${r.run.weightsDigest ?? '(no checkpoint)'}`,
          ].join('\n'),
        );
      }),
    );
  runs
    .command('resume <id>')
    .description('same as train --resume <id>, without waiting')
    .action((id: string) =>
      withService(g(), async (s, out) => {
        const r = await s.resumeRun(id);
        out.info('training in the background of this command; it ends when the run ends');
        const final = await r.done;
        out.result({ run: final }, () => runLine(final));
        if (final.status === 'cancelled') out.info(`sfumato: cancelled: run ${final.id} stopped at step ${final.step}; ${await keptLine(s, final.id)}`);
        return ['cancelled', 'failed', 'interrupted'].includes(final.status) ? 1 : 0;
      }),
    );
  runs
    .command('cancel <id>')
    .action((id: string) =>
      withService(g(), async (s, out) => {
        const r = await s.api['runs:cancel']({ id });
        out.result(r, () => runLine(r.run));
      }),
    );

  // ---------------------------------------------------------------- sampling
  const sample = program
    .command('sample')
    .description('generate images from a run (its latest checkpoint) or a checkpoint')
    .option('--run <id>', 'run id (its latest checkpoint, EMA weights)')
    .option('--checkpoint <id>', 'checkpoint id')
    .option('--model <id>', 'a bundled base model or an imported ONNX model (model_…)')
    .addOption(new Option('--engine <name>', 'network engine').choices(['auto', 'onnx', 'tfjs']).default('auto'))
    .option('--count <n>', 'number of images', parseIntStrict('count'), 4)
    .option('--seed <n>', 'seed of the first image (the others use seed+1, seed+2, …)', parseIntStrict('seed'))
    .addOption(new Option('--sampler <name>', 'sampler').choices([...SAMPLER_NAMES]).default('ddim'))
    .option('--steps <n>', 'sampler steps', parseIntStrict('steps'), 20);
  addSamplerOptionFlags(sample, { num: parseNum, int: parseIntStrict });
  sample.action((o: Record<string, unknown>) =>
      withService(g(), async (s, out) => {
        if (!o.run && !o.checkpoint && !o.model) throw new UsageError('say what to sample from: --run <id>, --checkpoint <id> or --model <id>');
        const options = samplerOptionsFrom(o);
        const r = await s.generate(
          {
            runId: o.run as string | undefined,
            checkpointId: o.checkpoint as string | undefined,
            modelId: o.model as string | undefined,
            engine: o.engine as 'auto' | 'onnx' | 'tfjs',
            count: o.count as number,
            seed: o.seed as number | undefined,
            sampler: o.sampler as SamplerName,
            steps: o.steps as number,
            options,
          },
          (p) => out.progress(p),
        );
        return printSamples(out, r);
      }),
    );

  // ---------------------------------------------------------------- gallery
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
      withService(g(), async (s, out) => {
        const r = await s.api['gallery:query']({
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
      withService(g(), async (s, out) => {
        const { sample } = await s.api['gallery:get']({ id });
        const { meta } = await s.api['gallery:meta']({ id });
        out.result({ sample, meta }, () => JSON.stringify({ ...sample, ...meta }, null, 2));
      }),
    );
  gallery
    .command('tag <ids...>')
    .description('add or remove tags: sfumato gallery tag smp_a smp_b --add night,blue --remove draft')
    .option('--add <tags>', 'comma-separated tags to add')
    .option('--remove <tags>', 'comma-separated tags to remove')
    .option('--collection <name>', 'also put them in this collection')
    .action((ids: string[], o: { add?: string; remove?: string; collection?: string }) =>
      withService(g(), async (s, out) => {
        const split = (v?: string) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
        if (!o.add && !o.remove && !o.collection) throw new UsageError('say what to change: --add, --remove or --collection');
        const r = await s.api['gallery:update']({ ids, addTags: split(o.add), removeTags: split(o.remove), collection: o.collection });
        out.result(r, () => `updated ${r.updated} sample(s)`);
      }),
    );
  gallery
    .command('favorite <ids...>')
    .description('mark as favourites (--off to unmark)')
    .option('--off', 'remove the mark')
    .action((ids: string[], o: { off?: boolean }) =>
      withService(g(), async (s, out) => {
        const r = await s.api['gallery:update']({ ids, favorite: !o.off });
        out.result(r, () => `${o.off ? 'unmarked' : 'marked'} ${r.updated} sample(s)`);
      }),
    );
  gallery
    .command('delete <ids...>')
    .description('move to the trash (undo with restore; free the space with empty-trash)')
    .action((ids: string[]) =>
      withService(g(), async (s, out) => {
        const r = await s.api['gallery:delete']({ ids });
        out.result(r, () => `moved ${r.deleted} sample(s) to the trash (undo: sfumato gallery restore ${ids.join(' ')})`);
      }),
    );
  gallery
    .command('restore <ids...>')
    .description('bring samples back from the trash')
    .action((ids: string[]) =>
      withService(g(), async (s, out) => {
        const r = await s.api['gallery:restore']({ ids });
        out.result(r, () => `restored ${r.restored} sample(s)`);
      }),
    );
  gallery
    .command('empty-trash [ids...]')
    .description('delete trashed samples and their files for good (all of the trash without ids)')
    .action((ids: string[]) =>
      withService(g(), async (s, out) => {
        const r = await s.api['gallery:emptyTrash']({ ids: ids.length ? ids : undefined });
        out.result(r, () => [`deleted ${r.deleted} sample(s) for good`, ...(r.notRemoved ?? []).map((n) => `  ! ${n.id}: ${n.message}`)].join('\n'));
        if (r.notRemoved?.length) {
          out.info(`sfumato: ${r.notRemoved.length} file(s) could not be removed; their samples stay in the trash (listed above).`);
          return 1;
        }
      }),
    );

  program
    .command('reproduce <sample>')
    .description('regenerate a gallery sample (id) or a PNG made by Sfumato, and compare the pixels')
    .action((target: string) =>
      withService(g(), async (s, out) => {
        const r = /^smp_[0-9a-z]+$/.test(target) ? await s.reproduce(target, (p) => out.progress(p)) : await s.reproduceFile(target, (p) => out.progress(p));
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
      withService(g(), async (s, out, signal) => {
        const r = await s.animateSample(id, { out: o.out, what: o.show, delayMs: o.delay, scale: o.scale, signal }, (p) => out.progress(p));
        out.result({ animation: r }, () => `wrote ${r.file} (${r.frames} frames)`);
      }),
    );

  const fromSample = async (s: Sfumato, id: string) => {
    const { sample } = await s.api['gallery:get']({ id });
    return sample;
  };
  program
    .command('variations <sample>')
    .description('variations of a gallery sample: its seed blended toward nearby subseeds (A1111 variation seeds)')
    .option('--count <n>', 'how many', parseIntStrict('count'), 4)
    .option('--strength <x>', 'how far from the original (0..1)', parseNum('strength'), 0.25)
    .option('--subseed <n>', 'first subseed (default: the sample seed + 1)', parseIntStrict('subseed'))
    .action((id: string, o: { count: number; strength: number; subseed?: number }) =>
      withService(g(), async (s, out) => {
        const p = await fromSample(s, id);
        const r = await s.generate(
          { checkpointId: p.checkpoint.id, count: o.count, seed: p.seed, sampler: p.sampler, steps: p.steps, options: p.samplerOptions, origin: { kind: 'variation', subseed: o.subseed ?? p.seed + 1, strength: o.strength }, parentId: p.id },
          (q) => out.progress(q),
        );
        return printSamples(out, r);
      }),
    );
  program
    .command('interpolate <sampleA> <sampleB>')
    .description('walk between two gallery samples\' starting noise (spherical interpolation), N frames')
    .option('--frames <n>', 'frames including both ends', parseIntStrict('frames'), 8)
    .option('--strip <file.png>', 'also write the frames as one horizontal strip')
    .action((a: string, b: string, o: { frames: number; strip?: string }) =>
      withService(g(), async (s, out) => {
        const pa = await fromSample(s, a);
        const pb = await fromSample(s, b);
        if (pa.checkpoint.sha256 !== pb.checkpoint.sha256) throw new UsageError('both samples must come from the same checkpoint');
        const r = await s.generate(
          { checkpointId: pa.checkpoint.id, count: o.frames, seed: pa.seed, sampler: pa.sampler, steps: pa.steps, options: pa.samplerOptions, origin: { kind: 'interpolation', seedB: pb.seed, frames: o.frames }, parentId: pa.id },
          (q) => out.progress(q),
        );
        if (o.strip && r.samples.length) {
          const { interpolationStrip } = await import('../gallery/export');
          const { default: sharp } = await import('sharp');
          const frames = await Promise.all(
            r.samples.map(async (x) => {
              const buf = await sharp(s.library.abs(x.file)).removeAlpha().raw().toBuffer();
              return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
            }),
          );
          const png = await interpolationStrip(frames, pa.width, pa.height, { scale: 4 });
          const { writeFileAtomic } = await import('../store/files');
          await writeFileAtomic(o.strip, png);
          out.info(`strip written to ${o.strip}`);
        }
        return printSamples(out, r);
      }),
    );
  program
    .command('img2img')
    .description('image-to-image (SDEdit): re-noise a gallery sample or dataset image part-way and denoise it')
    .option('--from-sample <id>', 'a gallery sample')
    .option('--from-item <id>', 'a dataset item')
    .option('--run <id>', 'model: a run (its latest checkpoint); default: the source sample\'s checkpoint')
    .option('--checkpoint <id>', 'model: a checkpoint')
    .option('--strength <x>', 'share of the schedule to re-noise (0..1]', parseNum('strength'), 0.5)
    .option('--count <n>', 'number of images', parseIntStrict('count'), 4)
    .option('--seed <n>', 'seed of the first image', parseIntStrict('seed'))
    .addOption(new Option('--sampler <name>', 'sampler').choices([...SAMPLER_NAMES]).default('ddim'))
    .option('--steps <n>', 'steps of the full schedule (strength x steps are run)', parseIntStrict('steps'), 20)
    .action((o: { fromSample?: string; fromItem?: string; run?: string; checkpoint?: string; strength: number; count: number; seed?: number; sampler: SamplerName; steps: number }) =>
      withService(g(), async (s, out) => {
        if (!o.fromSample === !o.fromItem) throw new UsageError('give exactly one source: --from-sample <id> or --from-item <id>');
        let checkpointId = o.checkpoint;
        if (!checkpointId && !o.run) {
          if (!o.fromSample) throw new UsageError('say which model to use: --run <id> or --checkpoint <id>');
          checkpointId = (await fromSample(s, o.fromSample)).checkpoint.id;
        }
        const r = await s.generate(
          { runId: o.run, checkpointId, count: o.count, seed: o.seed, sampler: o.sampler, steps: o.steps, origin: { kind: 'img2img', strength: o.strength, sourceSampleId: o.fromSample, sourceDatasetItemId: o.fromItem } },
          (q) => out.progress(q),
        );
        return printSamples(out, r);
      }),
    );
  program
    .command('export')
    .description('export samples to a folder or a .zip, with manifest.json and manifest.csv')
    .requiredOption('--samples <ids|query>', 'comma-separated sample ids, or "all", or a search query (same words as gallery list --search)')
    .requiredOption('--to <dir|file.zip>', 'target folder (created) or zip file; existing files are never overwritten')
    .addOption(new Option('--format <fmt>', 'image format').choices(['png', 'webp']).default('png'))
    .option('--contact-sheet', 'also write a contact sheet PNG')
    .option('--upscale <n>', 'nearest-neighbour upscale of every image and sheet cell, 1 to 16 (pixel art stays crisp)', parseIntStrict('upscale'), 1)
    .action((o: { samples: string; to: string; format: 'png' | 'webp'; contactSheet?: boolean; upscale: number }) =>
      withService(g(), async (s, out) => {
        let ids: string[];
        if (/^smp_[0-9a-z]+(,smp_[0-9a-z]+)*$/.test(o.samples)) ids = o.samples.split(',');
        else {
          const q = await s.api['gallery:query']({ text: o.samples === 'all' ? undefined : o.samples, limit: 10_000 });
          ids = q.samples.map((x) => x.id);
        }
        if (!ids.length) throw new UsageError(`no samples match ${JSON.stringify(o.samples)}`);
        if (o.upscale < 1 || o.upscale > 16) throw new UsageError(`--upscale must be a whole number from 1 to 16 (got ${o.upscale})`);
        const r = await s.exportSamples({ ids, to: o.to, format: o.format, contactSheet: !!o.contactSheet, upscale: o.upscale }, (p) => out.progress(p));
        out.result({ export: r }, () => `exported ${r.count} image(s) to ${r.path}${r.contactSheet ? `\ncontact sheet: ${r.contactSheet}` : ''}`);
      }),
    );

  // ---------------------------------------------------------------- models
  const models = program.command('models').description('bundled base models and imported ONNX UNets');
  models
    .command('list')
    .action(() =>
      withService(g(), async (s, out) => {
        const r = await s.api['models:list']({});
        out.result(r, () =>
          [...r.models.map((m) => `${m.id}  ${m.name}  (bundled, ${m.trainConfig.imageSize}px)`), ...r.imported.map((m) => `${m.id}  ${m.name}  (ONNX, ${m.prediction}, ${m.imageSize}px)`)].join('\n') || 'no models',
        );
      }),
    );
  models
    .command('export <checkpoint>')
    .description('export a checkpoint (EMA weights) to ONNX: inputs sample [B,3,H,W] and timestep [B], output out_sample')
    .requiredOption('--out <file.onnx>', 'where to write it (never overwritten)')
    .action((id: string, o: { out: string }) =>
      withService(g(), async (s, out) => {
        const ck = await s.store.checkpoints.get(id);
        if (!ck) throw new UsageError(`no checkpoint ${id}; list them with sfumato runs show <run>`);
        if (ck.file.endsWith('.onnx')) throw new UsageError(`${id} is already an ONNX model (${ck.file})`);
        const run = (await s.store.runs.get(ck.runId))!;
        const { parseWeights, configOfWeights } = await import('../model/weights');
        const { exportUNetToOnnx } = await import('../onnx/export');
        const parsed = parseWeights(new Uint8Array(readFileSync(s.library.abs(ck.file))));
        const bytes = exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: run.config.objective as never, schedule: run.config.schedule, appVersion: APP_VERSION, name: run.id });
        const { existsSync, writeFileSync } = await import('node:fs');
        if (existsSync(o.out)) throw new UsageError(`${o.out} exists; choose another file name`);
        writeFileSync(o.out, bytes, { flag: 'wx' });
        out.result({ file: o.out, bytes: bytes.length, checkpoint: id }, () => `wrote ${o.out} (${bytes.length} bytes)`);
      }),
    );
  models
    .command('import <file>')
    .description('import an external ONNX UNet (sample + timestep -> output of the sample shape)')
    .addOption(new Option('--prediction <kind>', 'what the network predicts').choices(['eps', 'x0', 'v']).makeOptionMandatory())
    .requiredOption('--schedule <name|json>', 'its noise schedule: a preset (linear, scaled-linear, cosine, …) or JSON as in the sampler bench')
    .option('--name <name>', 'display name (default: the file name)')
    .action((file: string, o: { prediction: 'eps' | 'x0' | 'v'; schedule: string; name?: string }) =>
      withService(g(), async (s, out) => {
        let schedule: unknown = o.schedule;
        if (o.schedule.trim().startsWith('{')) {
          try {
            schedule = JSON.parse(o.schedule);
          } catch (e) {
            throw new UsageError(`--schedule: not valid JSON (${(e as Error).message}).`);
          }
        }
        const r = await s.api['models:import']({ file, prediction: o.prediction, schedule, name: o.name });
        out.result(r, () => `imported ${r.model.id} "${r.model.name}" (${r.model.imageSize}px, ${r.model.prediction}); sample it with: sfumato sample --model ${r.model.id}`);
      }),
    );

  addBenchCommands(program, () => !!g().json);

  // ---------------------------------------------------------------- web mode
  program
    .command('serve')
    .description('web mode: serve the UI and the API on 127.0.0.1 with a random token')
    .option('--port <port>', 'port (0 = any free port)', parseIntStrict('port'), 4780)
    .option('--host <host>', 'interface to listen on (not loopback: a warning, and the token only in the Authorization header)', '127.0.0.1')
    .action(async (o: { port: number; host: string }) => {
      const { startWebServer } = await import('../server/http');
      const s = await Sfumato.open({ libraryPath: g().dataDir, mode: 'web' });
      const srv = await startWebServer(s, { port: o.port, host: o.host });
      if (srv.warning) process.stderr.write(`sfumato: warning: ${srv.warning}\n`);
      process.stdout.write(`Sfumato web UI: ${srv.url}\n`);
      if (g().json) process.stdout.write(JSON.stringify({ url: srv.url, port: srv.port, token: srv.token }) + '\n');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await srv.close();
      await s.close();
    });

  return program;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (str) => process.stderr.write(str) });
  try {
    lastActionCode = undefined;
    await program.parseAsync(argv);
    return lastActionCode ?? 0;
  } catch (e) {
    return reportError(e, argv.includes('--json'));
  }
}

let lastActionCode: number | undefined;

/**
 * A decoder's or the runtime's own wording, turned into a line that says what happened and what
 * to do. ApiErrors made by the service layer already say both and pass through unchanged.
 */
export function userMessage(e: unknown): { code: string; message: string; details?: unknown } {
  const raw = e instanceof Error ? e.message : e && typeof e === 'object' && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  const first = raw.split('\n')[0]!.trim();
  const api = e instanceof ApiError ? e : e && typeof e === 'object' && !(e instanceof Error) && 'code' in e && 'message' in e ? ApiError.from(e) : undefined;
  if (api && api.code !== 'internal') return api.toJSON();
  // sharp/libvips words, whether raw or wrapped in an internal ApiError
  if (/exceeds pixel limit/i.test(raw))
    return { code: 'bad_request', message: `an image is larger than Sfumato reads (${first}). Use an image of at most 50 megapixels (for example 4096 px on the long side) and try again.` };
  if (/^Input (file|buffer)|unsupported image format|VipsForeign|vips_|corrupt header|premature end/i.test(raw))
    return { code: 'bad_request', message: `an image could not be read (${first}). Check that the file is a complete PNG, JPEG, WebP, GIF, TIFF or AVIF image (export it again if needed) and try again.` };
  if (api) return api.toJSON();
  const errno = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  // A raw SQLite error the store did not explain: still a line that says what to check.
  if (typeof errno === 'string' && errno.startsWith('SQLITE_')) return { code: 'unavailable', message: ApiError.from(e).message };
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno))
    return { code: 'internal', message: `a file operation failed (${first}). Check the path, free disk space and permissions, then try again.` };
  const kind = e instanceof Error && e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return { code: 'internal', message: `unexpected error (${kind}${first}). This is a bug in Sfumato: please report it with the command you ran.` };
}

function reportError(e: unknown, json: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return 2;
  }
  let code = 1;
  let shape: { code: string; message: string; details?: unknown };
  if (e instanceof UsageError || e instanceof BenchInputError) {
    code = 2;
    shape = { code: 'bad_request', message: e.message };
  } else {
    shape = userMessage(e);
    if (shape.code === 'bad_request') code = 2;
  }
  if (json) process.stdout.write(JSON.stringify({ error: shape }) + '\n');
  process.stderr.write(`sfumato: ${shape.code === 'cancelled' ? 'cancelled: ' : ''}${shape.message}\n`);
  return code;
}
