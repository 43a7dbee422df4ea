/** `sfumato train`: train (or fine-tune, or resume) a model on a dataset, blocking with progress. */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { JobProgress, Run, TrainConfig } from '../../api/types';
import type { Sfumato } from '../../services/sfumato';
import { SCHEDULE_PRESETS } from '../../training/config';
import { call, keptLine, runLine, type CliContext } from '../context';
import type { Output } from '../output';
import { savedPreset } from './presets';
import { parseIntStrict, parseList, parseNum, parseScheduleArg, UsageError } from '../parse';
import { TRAIN_HELP, type TrainHelpKey } from '../../api/train-help';

/** A train flag's help: the Train page's one-line help (api/train-help.ts), then flag specifics. */
function cliHelp(key: TrainHelpKey, extra?: string): string {
  const h = TRAIN_HELP[key];
  return `${h.help} [${h.term}${extra ? `; ${extra}` : ''}]`;
}

/** The run's final record: from its job in this process, else (already ended) from the store. */
export async function runEnd(s: Sfumato, run: Run): Promise<Run> {
  return (await (s.runs.finished(run.id) ?? s.store.runs.get(run.id))) ?? run;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description('train a diffusion model on a dataset (blocks and shows progress; Ctrl-C cancels)')
    .option('--dataset <id>', 'dataset id (ds_…)')
    .option('--resume <run>', 'continue an interrupted run from its last checkpoint')
    .option('--init-checkpoint <id>', 'fine-tune: start from this checkpoint (architecture and schedule come from it)')
    .option('--init-model <id>', 'fine-tune: start from a bundled base model')
    .option('--reset-optimizer', 'fine-tune: start the optimiser afresh')
    .option('--config <file.json>', 'run configuration JSON; flags override it')
    .option('--preset <name>', 'a saved training preset of the library (sfumato presets list); --config and flags override it')
    .option('--seed <n>', cliHelp('seed', 'default: random, always recorded'), parseIntStrict('seed'))
    .option('--name <text>', 'the run\'s name (default: "<dataset> · scratch|fine-tune · <date>")')
    .option('--image-size <px>', cliHelp('imageSize'), parseIntStrict('image-size'))
    .option('--base-channels <n>', cliHelp('baseChannels'), parseIntStrict('base-channels'))
    .option('--channel-mults <list>', cliHelp('channelMults'), parseList('channel-mults'))
    .option('--res-blocks <n>', cliHelp('resBlocks'), parseIntStrict('res-blocks'))
    .option('--attention <list>', cliHelp('attentionResolutions', 'e.g. 8; empty for none'), parseList('attention'))
    .option('--groups <n>', cliHelp('groups'), parseIntStrict('groups'))
    .option('--dropout <p>', cliHelp('dropout'), parseNum('dropout'))
    .option('--batch <n>', cliHelp('batchSize'), parseIntStrict('batch'))
    .option('--grad-accum <n>', cliHelp('gradAccum'), parseIntStrict('grad-accum'))
    .addOption(new Option('--optimizer <name>', cliHelp('optimizer')).choices(['adam', 'adamw']))
    .option('--lr <x>', cliHelp('lr', 'default 2e-4; 5e-5 when fine-tuning'), parseNum('lr'))
    .option('--weight-decay <x>', cliHelp('weightDecay'), parseNum('weight-decay'))
    .option('--warmup <n>', cliHelp('warmupSteps'), parseIntStrict('warmup'))
    .addOption(new Option('--lr-schedule <name>', cliHelp('lrSchedule')).choices(['constant', 'cosine']))
    .option('--min-lr <x>', cliHelp('minLr'), parseNum('min-lr'))
    .option('--grad-clip <x>', cliHelp('gradClip'), parseNum('grad-clip'))
    .option('--ema <x>', cliHelp('ema'), parseNum('ema'))
    .option('--schedule <name|json>', cliHelp('schedule', 'linear, scaled-linear, cosine, sigmoid, vp, subvp, ve, edm, a schedule saved in the library by name, or a JSON object'))
    .addOption(new Option('--objective <name>', cliHelp('objective')).choices(['eps', 'x0', 'v', 'score', 'edm']))
    .addOption(new Option('--weighting <name>', cliHelp('weighting')).choices(['uniform', 'min-snr', 'p2']))
    .option('--min-snr-gamma <x>', cliHelp('minSnrGamma'), parseNum('min-snr-gamma'))
    .option('--no-hflip', 'no random horizontal flips')
    .option('--augment <p>', cliHelp('augment'), parseNum('augment'))
    .option('--steps <n>', cliHelp('steps'), parseIntStrict('steps'))
    .option('--checkpoint-every <n>', cliHelp('checkpointEvery', 'and at the end'), parseIntStrict('checkpoint-every'))
    .option('--keep <n>', cliHelp('keepCheckpoints'), parseIntStrict('keep'))
    .option('--preview-every <n>', cliHelp('previewEvery'), parseIntStrict('preview-every'))
    .addOption(new Option('--backend <name>', cliHelp('backend')).choices(['auto', 'tensorflow', 'webgpu', 'onnxruntime', 'wasm', 'cpu']))
    .addOption(new Option('--provider <name>', cliHelp('provider')).choices(['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu']))
    .option('--workers <n>', cliHelp('workers'), parseIntStrict('workers'))
    .option('--class-conditional', cliHelp('classConditional', 'the dataset needs labels: datasets import --labels subfolders'))
    .option('--cond-dropout <p>', cliHelp('condDropout', 'in [0, 1), default 0.1'), parseNum('cond-dropout'))
    .option('--eval-likelihood-every <n>', "measure held-out bits/dim (16 images, PF-ODE) at every checkpoint whose step is a multiple of n; the run needs held-out images (exclude some from the dataset before starting)", parseIntStrict('eval-likelihood-every'))
    .option('--lora-rank <r>', cliHelp('lora', 'LoRA rank r; needs --init-model or --init-checkpoint; base weights frozen'), parseIntStrict('lora-rank'))
    .option('--lora-alpha <a>', 'LoRA alpha (ΔW = alpha/rank · up·down; default: the rank)', parseNum('lora-alpha'))
    .option('--lora-targets <list>', 'LoRA targets: comma list of attn, conv, linear (default attn,conv)')
    .action((o: Record<string, unknown>) =>
      ctx.withService(async (s, out) => {
        const onProgress = (p: JobProgress) => out.progress(p);
        s.events.on('jobs:progress', onProgress);
        let run: Run;
        if (o.resume) {
          run = (await s.api['runs:resume']({ id: String(o.resume) })).run;
          out.info(`run ${run.id} resumed at step ${run.step}`);
        } else {
          if (!o.dataset) throw new UsageError('say which dataset to train on: --dataset <id> (or --resume <run>)');
          const preset = o.preset ? await savedPreset(s, out, 'training', String(o.preset)) : {};
          const config: Record<string, unknown> = { ...preset, ...readConfigFile(o.config as string | undefined), ...flagConfig(o) };
          if (typeof config.schedule === 'string') config.schedule = await namedSchedule(s, out, config.schedule);
          run = (
            await s.api['runs:start']({
              datasetId: String(o.dataset),
              seed: o.seed as number | undefined,
              config: config as Partial<TrainConfig>,
              initCheckpointId: o.initCheckpoint as string | undefined,
              initModelId: o.initModel as string | undefined,
              resetOptimizer: o.resetOptimizer === true ? true : undefined,
              name: o.name as string | undefined,
              evalLikelihoodEvery: o.evalLikelihoodEvery as number | undefined,
            })
          ).run;
          out.info(`run ${run.id} started (seed ${run.seed})`);
        }
        const final = await runEnd(s, run);
        // checkpoint measurements (--eval-likelihood-every) still running finish before we leave
        await s.likelihood.settled();
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
}

/** A schedule name: the trainer's own presets as they are, else a schedule saved in the library. */
async function namedSchedule(s: Sfumato, out: Output, name: string): Promise<unknown> {
  if (Object.hasOwn(SCHEDULE_PRESETS, name)) return name;
  const saved = (await call(s, out, 'presets:list', { kind: 'schedule' })).presets;
  const hit = saved.find((p) => p.name === name);
  if (hit) return hit.body;
  throw new UsageError(
    `--schedule ${name}: no such schedule. Use one of ${Object.keys(SCHEDULE_PRESETS).join(', ')}, a schedule saved in this library (${saved.map((p) => `"${p.name}"`).join(', ') || 'none saved yet'}), or a JSON object like {"kind":"discrete","beta":"cosine","trainSteps":1000}.`,
  );
}

function readConfigFile(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(String(file), 'utf8'));
  } catch (e) {
    throw new UsageError(`--config ${String(file)}: cannot read it as JSON (${(e as Error).message}).`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new UsageError(`--config ${String(file)} must hold a JSON object.`);
  return config as Record<string, unknown>;
}

/** --lora-rank/--lora-alpha/--lora-targets as the `lora` setting (validated by resolveTrainConfig). */
function loraFlags(o: Record<string, unknown>): Record<string, unknown> | undefined {
  if (o.loraRank === undefined) {
    if (o.loraAlpha !== undefined || o.loraTargets !== undefined) throw new UsageError('--lora-alpha and --lora-targets need --lora-rank (e.g. --lora-rank 8)');
    return undefined;
  }
  const targets = o.loraTargets === undefined ? undefined : String(o.loraTargets).split(',').map((t) => t.trim()).filter(Boolean);
  return { rank: o.loraRank, alpha: o.loraAlpha, targets };
}

/** The training flags given, as TrainConfig fields (flags override the --config file). */
function flagConfig(o: Record<string, unknown>): Record<string, unknown> {
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
    schedule: parseScheduleArg(o.schedule),
    objective: o.objective,
    weighting: o.weighting,
    minSnrGamma: o.minSnrGamma,
    hflip: o.hflip === false ? false : undefined,
    augment: o.augment,
    steps: o.steps,
    checkpointEvery: o.checkpointEvery,
    keepCheckpoints: o.keep,
    previewEvery: o.previewEvery,
    backend: o.backend,
    provider: o.provider,
    workers: o.workers,
    classConditional: o.classConditional === true ? true : undefined,
    condDropout: o.condDropout,
    lora: loraFlags(o),
  };
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
}
