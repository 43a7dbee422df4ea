/**
 * Training runs: start (from scratch or fine-tuning), resume, pause, cancel, estimate, and what
 * happens around a run's job: progress and checkpoints recorded, old checkpoints pruned, the end
 * recorded (retried in the background when the database cannot take it), recovery at startup.
 */
import { promises as fs } from 'node:fs';
import { randomInt } from 'node:crypto';
import { ApiError } from '../api/errors';
import type { StartRunRequest } from '../api/requests';
import type { Run, RunDeleteResult, RunDetail, TrainConfig } from '../api/types';
import type { JobOutcome } from '../jobs/manager';
import type { TrainJobSpec } from '../jobs/protocol';
import { isPidAlive } from '../proc';
import { newId } from '../db/ids';
import { FINE_TUNE_DEFAULTS, resolveTrainConfig } from '../training/config';
import { findBundledModel } from './bundled';
import { emitProgress, LIKELIHOOD_AT_CHECKPOINT, type ServiceContext } from './context';
import { toApiError } from '../api/errors';
import { checkpointSource } from './models';
import { adapterFileOf } from '../network/lora-file';
import { runParamCounts } from '../training/config';
import { defaultRunName, deleteRun, renameRun } from './run-manage';

/** How long, and how often, a run end that could not be recorded is retried in the background. */
const RUN_END_RETRY_MS = 10 * 60_000;
const RUN_END_RETRY_FIRST_MS = 250;
const RUN_END_RETRY_MAX_DELAY_MS = 5_000;

/** The error recorded by startup recovery for a run whose job process was gone. */
const RECOVERED_AT_START = 'The job process was gone when Sfumato started (the app or machine stopped).';

export interface StartedRun {
  run: Run;
  /** resolves with the run's final record when its job process ends */
  done: Promise<Run>;
}

export class RunService {
  /** final-status promises of the runs whose job is alive, by run id */
  private readonly runFinished = new Map<string, Promise<Run>>();
  /** runs started with evalLikelihoodEvery in this process (services/likelihood.ts measures them) */
  private readonly evalLikelihoodEvery = new Map<string, number>();

  constructor(private readonly ctx: ServiceContext) {}

  /** Resolves with the run's final record when its job ends; undefined when no job of this process runs it. */
  finished(runId: string): Promise<Run> | undefined {
    return this.runFinished.get(runId);
  }

  /** Training runs (bundled and imported models are not runs: see ModelService). */
  async list(datasetId?: string): Promise<Run[]> {
    return this.ctx.store.runs.list(datasetId);
  }

  /** A run with its checkpoints, losses and previews. */
  async get(id: string): Promise<RunDetail> {
    const run = await this.ctx.store.runs.get(id);
    if (!run) throw new ApiError('not_found', `No run ${id}.`);
    if (run.deleted) throw new ApiError('not_found', `Run ${id} ("${run.name}") was deleted; only the checkpoints gallery images came from were kept.`);
    const checkpoints = await this.ctx.store.checkpoints.list(id);
    return {
      ...run,
      checkpoints,
      losses: await this.ctx.store.runs.losses(id),
      weightsDigest: checkpoints.length ? checkpoints[checkpoints.length - 1].weightsDigest : null,
      previews: await this.ctx.store.runs.previews(id),
      likelihood: await this.ctx.store.likelihood.runPoints(id),
      ...runParamCounts(run.config),
    };
  }

  /**
   * Runs left `running` by a process that is gone (a crash or a kill of the whole app) become
   * `interrupted` when they have a checkpoint, else `failed`. Runs whose job is still alive (owned
   * by another Sfumato process on the same library) are left alone.
   */
  /** Runs left queued/running by a process that is gone become interrupted (or failed); returns their ids. */
  async recover(): Promise<string[]> {
    const recovered: string[] = [];
    for (const run of await this.ctx.store.runs.active()) {
      if (run.pid && isPidAlive(run.pid)) continue;
      await this.finishRunAfterDeath(run.id, RECOVERED_AT_START);
      recovered.push(run.id);
    }
    return recovered;
  }

  private async finishRunAfterDeath(runId: string, why: string): Promise<Run> {
    const hasCheckpoint = (await this.ctx.store.checkpoints.count(runId)) > 0;
    await this.ctx.store.runs.setStatus(runId, hasCheckpoint ? 'interrupted' : 'failed', { error: why, pid: null });
    return (await this.ctx.store.runs.get(runId))!;
  }

  async start(req: StartRunRequest): Promise<StartedRun> {
    const dataset = await this.ctx.store.datasets.get(req.datasetId);
    if (!dataset) throw new ApiError('not_found', `No dataset ${req.datasetId}. Import one first with \`sfumato datasets import <dir>\`.`);
    // Fine-tuning: the architecture, schedule and objective come from the starting weights.
    let init: { file: string; sha256: string; from: NonNullable<Run['initFrom']>; trainConfig: TrainConfig } | undefined;
    if (req.initCheckpointId && req.initModelId) {
      throw new ApiError('bad_request', 'Give initCheckpointId or initModelId, not both.', { field: 'initModelId' });
    }
    if (req.initCheckpointId) {
      const ck = await this.ctx.store.checkpoints.get(req.initCheckpointId);
      if (!ck) throw new ApiError('not_found', `No checkpoint ${req.initCheckpointId}. List them with \`sfumato runs show <run>\`.`);
      const src = await checkpointSource(this.ctx.store, ck);
      init = { file: this.ctx.library.abs(ck.file), sha256: ck.sha256, from: { checkpointId: ck.id, sha256: ck.sha256 }, trainConfig: src.config };
    } else if (req.initModelId) {
      const m = await findBundledModel(req.initModelId);
      init = { file: m.file, sha256: m.sha256, from: { modelId: m.id, sha256: m.sha256 }, trainConfig: m.trainConfig };
    }
    const overrides: Partial<TrainConfig> = { imageSize: dataset.imageSize, ...req.config };
    if (init) {
      for (const k of ['imageSize', 'baseChannels', 'channelMults', 'resBlocks', 'attentionResolutions', 'groups', 'schedule', 'objective'] as const) {
        if (req.config?.[k] !== undefined && JSON.stringify(req.config[k]) !== JSON.stringify(init.trainConfig[k])) {
          throw new ApiError('bad_request', `Fine-tuning keeps the starting model's ${k} (${JSON.stringify(init.trainConfig[k])}); drop the ${k} setting.`, { field: k });
        }
        (overrides as Record<string, unknown>)[k] = init.trainConfig[k];
      }
      // A class-conditional starting model stays class-conditional (its class table is part of its
      // architecture): images of the dataset's known classes train their class, unlabelled ones the
      // null class, i.e. the unconditional half of guidance.
      if (init.trainConfig.classConditional) {
        if (req.config?.classConditional === false) {
          throw new ApiError('bad_request', `The starting model is class-conditional (classes ${(init.trainConfig.classes ?? []).join(', ')}) and fine-tuning keeps that; drop the classConditional setting.`, { field: 'classConditional' });
        }
        overrides.classConditional = true;
      }
      // Fine-tune defaults for what the request left out (lr, warm-up, EMA).
      for (const k of ['lr', 'warmupSteps', 'ema'] as const) if (req.config?.[k] === undefined) overrides[k] = FINE_TUNE_DEFAULTS[k];
    }
    if (dataset.itemCount === 0) throw noIncludedImages(dataset.id, dataset.name);
    let config: TrainConfig;
    try {
      config = resolveTrainConfig(overrides, dataset.itemCount);
    } catch (e) {
      throw toApiError(e);
    }
    if (config.lora) {
      // LoRA adapts a model: it needs one, and a rank each adapted module can hold (before any compute)
      if (!init) throw new ApiError('bad_request', 'LoRA fine-tunes an existing model: give an init model or checkpoint (--init-model emoji-32 or --init-checkpoint ID).', { field: 'lora' });
    }
    if (config.imageSize !== dataset.imageSize) {
      throw new ApiError(
        'bad_request',
        init
          ? `The starting model works at ${config.imageSize} px but the dataset was prepared at ${dataset.imageSize} px; re-import the folder with --image-size ${config.imageSize}.`
          : `imageSize ${config.imageSize} differs from the dataset's prepared size ${dataset.imageSize}; re-import the folder at ${config.imageSize} px or train at ${dataset.imageSize}.`,
        { field: 'imageSize' },
      );
    }
    const images = await this.ctx.store.datasets.trainingImages(dataset.id);
    const labels = classLabels(config, dataset, images.classes, init?.trainConfig);
    if (req.evalLikelihoodEvery !== undefined && dataset.excludedCount === 0) {
      throw new ApiError(
        'bad_request',
        `evalLikelihoodEvery needs a held-out split, and dataset ${dataset.id} has none: every image would be trained on. Exclude some images first (Datasets page, or \`sfumato datasets exclude\`): the run's held-out images are those it does not train on.`,
        { field: 'evalLikelihoodEvery' },
      );
    }
    const seed = req.seed ?? randomInt(0, 2 ** 31);
    const runId = newId('run');
    const createdAt = new Date().toISOString();
    const name = req.name ?? defaultRunName(dataset.name, init ? 'fine-tune' : 'scratch', createdAt);
    if (labels) images.labels = labels;
    const run = await this.ctx.store.runs.insert({ id: runId, name, datasetId: dataset.id, config, seed, initFrom: init?.from ?? null, createdAt });
    // The images it starts on, kept for resume whatever is excluded later.
    await this.ctx.store.datasets.recordRunImages(runId, images);
    if (req.evalLikelihoodEvery !== undefined) this.evalLikelihoodEvery.set(runId, req.evalLikelihoodEvery);
    return this.launchTraining(
      run,
      init && {
        file: init.file,
        mode: 'finetune',
        preferEma: true,
        // Keep Adam's moments from the checkpoint unless asked to reset (a source without them,
        // such as a bundled model, starts the optimiser afresh either way).
        keepOptimizer: !req.resetOptimizer,
      },
    );
  }

  /**
   * Continue an interrupted (or failed/cancelled) run from its last checkpoint: same step, weights,
   * EMA, optimiser state and data position, so the losses repeat those of an uninterrupted run.
   */
  async resume(runId: string): Promise<StartedRun> {
    const run = await this.ctx.store.runs.get(runId);
    if (!run || run.deleted) throw new ApiError('not_found', `No run ${runId}. List runs with \`sfumato runs list\`.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${runId} is already ${run.status}.`);
    if (run.status === 'completed') throw new ApiError('conflict', `Run ${runId} is completed; fine-tune from its checkpoint to train further.`);
    const ck = await this.ctx.store.checkpoints.latest(runId);
    if (!ck) throw new ApiError('conflict', `Run ${runId} has no checkpoint to resume from; start a new run.`);
    const dataset = run.datasetId ? await this.ctx.store.datasets.get(run.datasetId) : undefined;
    if (!dataset) throw new ApiError('conflict', `The dataset of run ${runId} was removed; it cannot be resumed.`);
    if (run.config.classConditional && !(await this.ctx.store.datasets.runImages(runId))?.labels) {
      throw new ApiError('conflict', `Run ${runId} is class-conditional but its training labels were not recorded; it cannot be resumed exactly. Start a new run.`);
    }
    // The steps after the checkpoint will be trained again.
    await this.ctx.store.runs.truncateLosses(runId, ck.step);
    await this.ctx.store.runs.recordProgress(runId, ck.step, []);
    await this.ctx.store.runs.setStatus(runId, 'queued', { error: null });
    return this.launchTraining((await this.ctx.store.runs.get(runId))!, { file: this.ctx.library.abs(ck.file), mode: 'resume', preferEma: false, keepOptimizer: true });
  }

  private async launchTraining(run: Run, init: TrainJobSpec['init']): Promise<StartedRun> {
    const runId = run.id;
    const config = run.config;
    const ckptRel = this.ctx.library.rel('runs', runId, 'checkpoints');
    const previewRel = this.ctx.library.rel('runs', runId, 'previews');
    const recorded = await this.ctx.store.datasets.runImages(runId);
    if (config.classConditional && !recorded?.labels) throw new ApiError('conflict', `Run ${runId} is class-conditional but has no recorded labels; start a new run.`);
    const spec: TrainJobSpec = {
      kind: 'train',
      runId,
      config,
      seed: run.seed,
      datasetCache: this.ctx.library.abs((await this.ctx.store.datasets.cacheFile(run.datasetId))!),
      // the images recorded when the run started (none recorded: a run from before, the whole cache)
      datasetIndices: recorded?.indices,
      // class-conditional runs: the labels recorded with them (a later class rename changes nothing)
      ...(recorded?.labels ? { datasetLabels: recorded.labels } : {}),
      checkpointDir: this.ctx.library.abs(ckptRel),
      checkpointDirRel: ckptRel,
      previewDir: this.ctx.library.abs(previewRel),
      previewDirRel: previewRel,
      init,
      baseSha256: config.lora ? run.initFrom?.sha256 : undefined,
    };
    const jobId = newId('job');
    const base = { jobId, kind: 'train' as const, runId };
    // Recorded before the job starts, so the job's own 'started' (running) always comes after it.
    // The pid of the process that owns the queued job (this one): another Sfumato process on the
    // library (a CLI command beside the app, or beside a queue server whose job waits for a
    // worker) must not recover it as dead while it waits.
    await this.ctx.store.runs.setStatus(runId, 'queued', { pid: process.pid });
    /** a file the job wrote whose row could not be recorded: remove it (no orphan files) */
    const dropFile = (rel: string) => fs.rm(this.ctx.library.abs(rel), { force: true }).catch(() => undefined);
    const job = this.ctx.jobs.start(
      jobId,
      spec,
      async (msg) => {
        switch (msg.type) {
          case 'started':
            if (await this.cancelledElsewhere(runId)) {
              job.cancel();
              break;
            }
            await this.ctx.store.runs.setStatus(runId, 'running', { backend: msg.backend, backendNote: providerNote(msg.unavailable), pid: job.pid ?? null });
            emitProgress(this.ctx, { ...base, state: 'running', done: run.step, total: config.steps, message: `training on ${msg.backend}` });
            break;
          case 'train-progress':
            await this.ctx.store.runs.recordProgress(runId, msg.step, msg.losses);
            if (await this.cancelledElsewhere(runId)) job.cancel();
            emitProgress(this.ctx, {
              ...base,
              state: 'running',
              done: msg.step,
              total: msg.total,
              loss: msg.losses.length ? msg.losses[msg.losses.length - 1].loss : undefined,
              lr: msg.lr,
              gradNorm: msg.gradNorm,
              stepsPerSec: msg.stepsPerSec,
              etaSec: msg.stepsPerSec > 0 ? (msg.total - msg.step) / msg.stepsPerSec : undefined,
            });
            break;
          case 'checkpoint':
            try {
              const checkpointId = newId('ckpt');
              await this.ctx.store.checkpoints.insert({
                id: checkpointId,
                runId,
                step: msg.step,
                file: msg.file,
                sha256: msg.sha256,
                loss: msg.loss,
                weightsDigest: msg.weightsDigest,
              });
              const every = this.evalLikelihoodEvery.get(runId);
              if (every && msg.step % every === 0) this.ctx.events.emit(LIKELIHOOD_AT_CHECKPOINT, { runId, checkpointId });
            } catch (e) {
              await dropFile(msg.file);
              throw e;
            }
            await this.pruneCheckpoints(runId, config.keepCheckpoints);
            break;
          case 'preview':
            try {
              await this.ctx.store.runs.addPreview(runId, msg.step, msg.file, msg.memorisation, msg.heldOut);
            } catch (e) {
              await dropFile(msg.file);
              throw e;
            }
            emitProgress(this.ctx, { ...base, state: 'running', done: msg.step, total: config.steps, preview: msg.file, ...(msg.memorisation ? { memorisation: msg.memorisation } : {}), ...(msg.heldOut ? { heldOut: msg.heldOut } : {}) });
            break;
          case 'log':
            emitProgress(this.ctx, { ...base, state: 'running', done: -1, total: config.steps, message: msg.message });
            break;
          default:
            break;
        }
      },
      { runId },
      {
        // After a failed write the job is stopped; files it still announces get no row: remove them.
        onDiscard: async (msg) => {
          if (msg.type === 'checkpoint' || msg.type === 'preview') await dropFile(msg.file);
        },
      },
    );
    if (job.info.state === 'queued') {
      emitProgress(this.ctx, { ...base, state: 'queued', done: run.step, total: config.steps, message: 'waiting for another training job to finish' });
    }
    const done = job.done.then((outcome) => this.finishRun(runId, jobId, outcome, job.pid));
    this.runFinished.set(runId, done);
    // `done` is always handled here (web mode and the desktop app do not await it): a failure to
    // record the end of the run is reported, never an unhandled rejection that ends the process.
    done.then(
      () => this.runFinished.delete(runId),
      (e: unknown) => {
        this.runFinished.delete(runId);
        this.ctx.jobs.emit('handler-error', e);
        const err = toApiError(e);
        emitProgress(this.ctx, { ...base, state: 'failed', done: -1, total: config.steps, error: { code: err.code, message: err.message } });
      },
    );
    return { run: (await this.ctx.store.runs.get(runId))!, done };
  }

  /**
   * True when another Sfumato process on this library (the CLI's `runs cancel` next to the app, or
   * the app next to a CLI `train`) recorded the run as cancelled: that process cannot reach this
   * job, so the owner stops it at its next progress report.
   */
  private async cancelledElsewhere(runId: string): Promise<boolean> {
    return (await this.ctx.store.runs.get(runId))?.status === 'cancelled';
  }

  /** Keep the newest K checkpoints; never those a gallery sample was made from. Row first, then file. */
  private async pruneCheckpoints(runId: string, keep: number): Promise<void> {
    for (const ck of await this.ctx.store.checkpoints.prunable(runId, keep)) {
      await this.ctx.store.checkpoints.remove(ck.id);
      await fs.rm(this.ctx.library.abs(ck.file), { force: true });
      await fs.rm(this.ctx.library.abs(adapterFileOf(ck.file)), { force: true }); // a LoRA run's adapter file
    }
  }

  private async finishRun(runId: string, jobId: string, outcome: JobOutcome, pid?: number): Promise<Run> {
    let run: Run;
    try {
      run = await this.recordRunEnd(runId, outcome);
    } catch (e) {
      // The end could not be recorded (the database stayed locked past its retry budget, or the
      // disk is full): keep trying in the background, so the run gets its true final state in
      // this process instead of staying `running` with a dead pid until the next start.
      this.retryRunEnd(runId, jobId, outcome, pid);
      throw e;
    }
    this.emitRunEnd(run, jobId, outcome);
    return run;
  }

  /** Records how a run's job ended: its own state, or interrupted/failed when the process died. */
  private async recordRunEnd(runId: string, outcome: JobOutcome): Promise<Run> {
    if (outcome.state === 'interrupted') return this.finishRunAfterDeath(runId, outcome.error?.message ?? 'The job process died.');
    await this.ctx.store.runs.setStatus(runId, outcome.state, { error: outcome.error?.message ?? null, pid: null });
    return (await this.ctx.store.runs.get(runId))!;
  }

  /** background retries of run ends that could not be recorded, by run id (see finishRun) */
  private readonly pendingRunEnds = new Map<string, { timer?: NodeJS.Timeout; attempt?: Promise<void> }>();

  private retryRunEnd(runId: string, jobId: string, outcome: JobOutcome, pid: number | undefined): void {
    if (this.pendingRunEnds.has(runId)) return;
    const t0 = Date.now();
    let delay = RUN_END_RETRY_FIRST_MS;
    const entry: { timer?: NodeJS.Timeout; attempt?: Promise<void> } = {};
    this.pendingRunEnds.set(runId, entry);
    const attempt = async (): Promise<void> => {
      entry.timer = undefined;
      try {
        // Write only over what this job left (still queued/running with its own or a dead pid) or
        // over another process's startup recovery; a run resumed or ended elsewhere is theirs.
        const row = await this.ctx.store.runs.get(runId);
        const active = (await this.ctx.store.runs.active()).find((r) => r.id === runId);
        const ours = active ? active.pid === null || active.pid === pid || active.pid === process.pid || !isPidAlive(active.pid) : row?.error === RECOVERED_AT_START && (row.status === 'interrupted' || row.status === 'failed');
        if (!row || !ours) {
          this.pendingRunEnds.delete(runId);
          return;
        }
        const run = await this.recordRunEnd(runId, outcome);
        this.pendingRunEnds.delete(runId);
        this.emitRunEnd(run, jobId, outcome);
      } catch (e) {
        if (!this.pendingRunEnds.has(runId)) return; // closed meanwhile
        if (Date.now() - t0 >= RUN_END_RETRY_MS) {
          this.pendingRunEnds.delete(runId);
          this.ctx.jobs.emit('handler-error', e);
          return;
        }
        entry.timer = setTimeout(() => void (entry.attempt = attempt()), delay);
        entry.timer.unref();
        delay = Math.min(RUN_END_RETRY_MAX_DELAY_MS, delay * 2);
      }
    };
    entry.timer = setTimeout(() => void (entry.attempt = attempt()), delay);
    entry.timer.unref();
  }

  private emitRunEnd(run: Run, jobId: string, outcome: JobOutcome): void {
    const runId = run.id;
    emitProgress(this.ctx, {
      jobId,
      kind: 'train',
      state:
        run.status === 'completed' || run.status === 'paused'
          ? 'completed'
          : run.status === 'cancelled'
            ? 'cancelled'
            : run.status === 'interrupted'
              ? 'interrupted'
              : 'failed',
      message: run.status === 'paused' ? `paused at step ${run.step}` : undefined,
      done: run.step,
      total: run.config.steps,
      runId,
      loss: run.lastLoss ?? undefined,
      error: outcome.error ? { code: outcome.error.code === 'unavailable' ? 'unavailable' : 'internal', message: outcome.error.message } : undefined,
    });
  }

  /** Pause a running run: it writes a checkpoint at the current step and stops (resume continues it). */
  async pause(id: string): Promise<Run> {
    const run = await this.ctx.store.runs.get(id);
    if (!run || run.deleted) throw new ApiError('not_found', `No run ${id}.`);
    const job = this.ctx.jobs.list().find((j) => j.runId === id);
    const finished = this.runFinished.get(id);
    if (!job || !finished) throw new ApiError('conflict', `Run ${id} is ${run.status}, not running; only a running run can be paused.`);
    this.ctx.jobs.get(job.id)?.pause();
    return finished;
  }

  /**
   * Calibrated time per step for a configuration on this machine's active backend: a short job
   * times a few real training steps on the dataset (nothing is stored).
   */
  async estimate(req: { datasetId: string; config?: Partial<TrainConfig> }): Promise<{ secondsPerStep: number; backend: string; totalSeconds: number; steps: number }> {
    const dataset = await this.ctx.store.datasets.get(req.datasetId);
    if (!dataset) throw new ApiError('not_found', `No dataset ${req.datasetId}.`);
    if (dataset.itemCount === 0) throw noIncludedImages(dataset.id, dataset.name);
    let config: TrainConfig;
    try {
      config = resolveTrainConfig({ imageSize: dataset.imageSize, ...req.config }, dataset.itemCount);
    } catch (e) {
      throw toApiError(e);
    }
    const images = await this.ctx.store.datasets.trainingImages(dataset.id);
    const labels = classLabels(config, dataset, images.classes);
    const jobId = newId('job');
    let backend = '';
    let secondsPerStep = NaN;
    const job = this.ctx.jobs.start(
      jobId,
      {
        kind: 'train',
        runId: 'estimate',
        config,
        seed: 0,
        datasetCache: this.ctx.library.abs((await this.ctx.store.datasets.cacheFile(dataset.id))!),
        datasetIndices: images.indices,
        ...(labels ? { datasetLabels: labels } : {}),
        checkpointDir: this.ctx.library.abs('tmp'),
        checkpointDirRel: 'tmp',
        previewDir: this.ctx.library.abs('tmp'),
        previewDirRel: 'tmp',
        estimateSteps: 3,
      },
      (msg) => {
        if (msg.type === 'started') backend = msg.backend;
        else if (msg.type === 'estimate') secondsPerStep = msg.secondsPerStep;
      },
    );
    const outcome = await job.done;
    if (!Number.isFinite(secondsPerStep)) throw new ApiError('internal', `The estimate failed: ${outcome.error?.message ?? 'the job ended early'}`);
    return { secondsPerStep, backend, steps: config.steps, totalSeconds: secondsPerStep * config.steps };
  }

  async cancel(id: string): Promise<Run> {
    const run = await this.ctx.store.runs.get(id);
    if (!run || run.deleted) throw new ApiError('not_found', `No run ${id}.`);
    const job = this.ctx.jobs.list().find((j) => j.runId === id);
    const finished = this.runFinished.get(id);
    if (job && finished) {
      this.ctx.jobs.get(job.id)?.cancel();
      return finished;
    } else if (['queued', 'running', 'paused', 'interrupted'].includes(run.status)) {
      await this.ctx.store.runs.setStatus(id, 'cancelled', { pid: null });
    }
    return (await this.ctx.store.runs.get(id))!;
  }

  async rename(id: string, name: string): Promise<Run> {
    return renameRun(this.ctx, id, name);
  }

  /** Deletes a run that has no job (see run-manage.ts: gallery images' checkpoints are kept). */
  async remove(id: string): Promise<RunDeleteResult> {
    return deleteRun(this.ctx, id, this.runFinished.has(id) || this.ctx.jobs.list().some((j) => j.runId === id));
  }

  /** Stops the background retries of run ends (the next start's recovery records those runs). */
  async close(): Promise<void> {
    // the ends of runs whose jobs were just stopped are written before the store closes
    await Promise.allSettled([...this.runFinished.values()]);
    const pending = [...this.pendingRunEnds.values()];
    this.pendingRunEnds.clear();
    for (const p of pending) if (p.timer) clearTimeout(p.timer);
    await Promise.all(pending.map((p) => p.attempt?.catch(() => undefined)));
  }
}

function noIncludedImages(id: string, name: string): ApiError {
  return new ApiError('bad_request', `Every image of dataset "${name}" (${id}) is excluded from training. Include at least one image on the Datasets page (or \`sfumato datasets include\`).`, { field: 'datasetId' });
}

/** The run's record of its execution provider choice: "webgpu: why; cuda: why" for each ONNX
 *  Runtime provider left out (train-job.ts puts them in `unavailable` as onnxruntime-<provider>). */
export function providerNote(unavailable: Record<string, string>): string | null {
  const lines = Object.entries(unavailable)
    .filter(([k]) => k.startsWith('onnxruntime-'))
    .map(([k, v]) => `${k.slice('onnxruntime-'.length)}: ${v}`);
  return lines.length ? lines.join('; ') : null;
}

/**
 * Class-conditional runs: sets `config.classes` (the dataset's class names, sorted; or, when
 * fine-tuning a class-conditional model, that model's classes; an unconditional starting model
 * learns the dataset's classes) and returns each training image's
 * label (index into them; unlabelled images get K, the null class). Undefined for other runs.
 */
export function classLabels(config: TrainConfig, dataset: { id: string; name: string }, imageClasses: readonly (string | null)[], initConfig?: TrainConfig): number[] | undefined {
  if (!config.classConditional) return undefined;
  const found = [...new Set(imageClasses.filter((c): c is string => c !== null))].sort();
  let classes: string[];
  if (initConfig?.classConditional) {
    classes = (initConfig.classes ?? []).slice();
    const unknown = found.filter((c) => !classes.includes(c));
    if (unknown.length) {
      throw new ApiError('bad_request', `Dataset ${dataset.name} has classes the starting model does not know: ${unknown.join(', ')} (it knows ${classes.join(', ')}); rename or merge them on the dataset page.`, { field: 'classes' });
    }
  } else {
    // from scratch, or from an unconditional model: its null class starts as exactly that model
    // (trainer.ts) and the class rows are learned on top of it
    if (found.length === 0) {
      throw new ApiError('bad_request', `Dataset ${dataset.name} (${dataset.id}) has no class labels; import its folder with --labels subfolders (one subfolder per class) to train a class-conditional model.`, { field: 'classConditional' });
    }
    classes = found;
  }
  config.classes = classes;
  const K = classes.length;
  return imageClasses.map((c) => (c === null ? K : classes.indexOf(c)));
}
