/**
 * The service layer: one object that the Electron IPC handlers, the web server, the CLI and the
 * tests all drive. It owns the library folder, the store and the job processes.
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { randomInt } from 'node:crypto';
import { ApiError, toApiError as mapError } from '../api/errors';
import type { ExportRequest, GenerateRequest, ImportDatasetRequest, StartRunRequest } from '../api/requests';
import { buildHandlers, validatedApi, type ValidatedApi } from './handlers';
import type {
  DatasetDetail,
  DatasetPreviewResult,
  GenerateResult,
  ImportDatasetResult,
  JobProgress,
  Run,
  SampleRecord,
  SystemInfo,
  TrainConfig,
  Checkpoint,
  ExportResult,
  ReproduceResult,
  SampleOrigin,
  SamplerName,
  SamplerOptions,
  ImportedModel,
} from '../api/types';
import { isNoSpaceErrno, writeFileAtomic } from '../store/files';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { readCache } from '../datasets/cache';
import { readSampleMetadata } from '../gallery/metadata';
import { pngHeaderSize } from '../png/chunks';
import { readRegularFile } from '../datasets/user-file';
import { Db } from '../store/db';
import { newId } from '../store/ids';
import { Library, resolveLibraryPath } from '../store/library';
import { ExportDownloads } from './downloads';
import { repositories, type Store } from '../store/repositories';
import { forkLauncher, type JobLauncher } from '../jobs/launcher';
import { JobManager, type JobLimits, type JobOutcome } from '../jobs/manager';
import type { SampleJobSpec, TrainJobSpec } from '../jobs/protocol';
import { FINE_TUNE_DEFAULTS, resolveTrainConfig } from '../training/config';
import { demoDatasetDir, findBundledModel } from './models';
import { importFolder } from '../datasets/import';
import { prepareBytes, resolvePrepareOptions } from '../datasets/preprocess';
import { readFileChecked, walkFolder } from '../datasets/scan';
import { sniff } from '../datasets/sniff';
import { DatasetError } from '../datasets/errors';
import { DiffusionConfigError, makeProcess, SAMPLER_NAMES, validateSamplerSettings } from '../diffusion/index';
import { APP_VERSION, collectVersions, probeBackends } from './system';

export interface OpenOptions {
  /** explicit library folder (--data-dir, Electron userData); else SFUMATO_HOME / XDG default */
  libraryPath?: string;
  mode: SystemInfo['mode'];
  launcher?: JobLauncher;
  /** how long a database write waits for a lock held by another program (default 45 s) */
  dbRetryMs?: number;
  /** job processes run at once per kind (default: one training, two sampling jobs) */
  jobLimits?: JobLimits;
}

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

export class Sfumato {
  readonly events = new EventEmitter();
  readonly jobs: JobManager;
  /** web mode's export downloads under <library>/exports */
  readonly downloads: ExportDownloads;
  /** The contract, implemented (services/handlers.ts): every function validates its request first. */
  readonly api: ValidatedApi;
  /** final-status promises of the runs whose job is alive, by run id */
  private readonly runFinished = new Map<string, Promise<Run>>();

  private constructor(
    readonly library: Library,
    readonly store: Store,
    readonly mode: SystemInfo['mode'],
    launcher: JobLauncher,
    jobLimits?: JobLimits,
  ) {
    this.jobs = new JobManager(launcher, jobLimits);
    this.downloads = new ExportDownloads(library);
    this.jobs.on('handler-error', (e: Error) => console.error('[sfumato] job message handler failed:', e));
    this.api = validatedApi(buildHandlers(this));
  }

  static async open(opts: OpenOptions): Promise<Sfumato> {
    const library = new Library(resolveLibraryPath(opts.libraryPath));
    const db = await Db.open(library.dbFile, { retryMs: opts.dbRetryMs });
    const s = new Sfumato(library, repositories(db), opts.mode, opts.launcher ?? forkLauncher, opts.jobLimits);
    await s.recoverRuns();
    return s;
  }

  async close(): Promise<void> {
    await this.jobs.shutdown();
    // Background retries of run ends stop here (the next start's recovery records those runs);
    // one already writing is waited for.
    const pending = [...this.pendingRunEnds.values()];
    this.pendingRunEnds.clear();
    for (const p of pending) if (p.timer) clearTimeout(p.timer);
    await Promise.all(pending.map((p) => p.attempt?.catch(() => undefined)));
    await this.store.db.close();
  }

  private emitProgress(p: JobProgress): void {
    this.events.emit('jobs:progress', p);
  }

  /**
   * Runs left `running` by a process that is gone (a crash or a kill of the whole app) become
   * `interrupted` when they have a checkpoint, else `failed`. Runs whose job is still alive (owned
   * by another Sfumato process on the same library) are left alone.
   */
  private async recoverRuns(): Promise<void> {
    for (const run of await this.store.runs.active()) {
      if (run.pid && isAlive(run.pid)) continue;
      await this.finishRunAfterDeath(run.id, RECOVERED_AT_START);
    }
  }

  private async finishRunAfterDeath(runId: string, why: string): Promise<Run> {
    const hasCheckpoint = (await this.store.checkpoints.count(runId)) > 0;
    await this.store.runs.setStatus(runId, hasCheckpoint ? 'interrupted' : 'failed', { error: why, pid: null });
    return (await this.store.runs.get(runId))!;
  }

  // ------------------------------------------------------------ datasets

  async importDataset(req: ImportDatasetRequest, onProgress?: (p: JobProgress) => void, signal?: AbortSignal): Promise<ImportDatasetResult> {
    const dir = resolve(req.dir);
    const id = newId('ds');
    const jobId = newId('job');
    const imageSize = req.imageSize ?? 32;
    const background = req.background ?? '#ffffff';
    const relDir = this.library.rel('datasets', id);
    const cacheRel = this.library.rel('datasets', id, `cache-${imageSize}.bin`);
    const progress = (done: number, total: number, message?: string, state: JobProgress['state'] = 'running') => {
      const p: JobProgress = { jobId, kind: 'import', state, done, total, message, datasetId: id };
      onProgress?.(p);
      this.emitProgress(p);
    };
    let result;
    try {
      result = await importFolder(dir, {
        size: imageSize,
        background,
        crop: req.crop ?? 'center',
        thumbDir: this.library.abs(this.library.rel('datasets', id, 'thumbs')),
        cachePath: this.library.abs(cacheRel),
        onProgress: (done, total, file) => progress(done, total, file),
        signal,
      });
    } catch (e) {
      await fs.rm(this.library.abs(relDir), { recursive: true, force: true });
      progress(0, 0, (e as Error).message, 'failed');
      throw toApiError(e);
    }
    const items = [...result.items].sort((a, b) => a.index - b.index).map((it) => ({
      id: newId('item'),
      file: it.file,
      format: it.format,
      width: it.width,
      height: it.height,
      sha256: it.sha256,
      thumb: relative(this.library.root, it.thumbFile).split('\\').join('/'),
    }));
    let dataset;
    try {
      dataset = await this.store.datasets.insert({
        id,
        name: req.name ?? basename(dir),
        sourceDir: dir,
        imageSize,
        background,
        cacheFile: cacheRel,
        items,
        errors: result.errors,
      });
    } catch (e) {
      // No row, no files: the prepared cache and thumbnails go too.
      await fs.rm(this.library.abs(relDir), { recursive: true, force: true });
      progress(0, 0, (e as Error).message, 'failed');
      throw toApiError(e);
    }
    progress(items.length, items.length, `imported ${items.length}, ${result.errors.length} problem(s)`, 'completed');
    return {
      dataset,
      imported: items.length,
      errors: result.errors,
      duplicates: result.duplicates.map((d) => ({ file: d.file, duplicateOf: d.duplicateOf })),
    };
  }

  /**
   * Before/after of the preprocessing (resize + crop or fit + background) on the first images of a
   * folder, so the artist can choose the settings before importing. Reads at most `count` images.
   */
  async previewDataset(req: ImportDatasetRequest & { count?: number }): Promise<DatasetPreviewResult> {
    const dir = resolve(req.dir);
    const size = req.imageSize ?? 32;
    const want = req.count ?? 4;
    const st = await fs.stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new ApiError('bad_request', `${dir} is not a folder; give the path of a folder of images.`, { field: 'dir' });
    // The same walk and checks as the import: no FIFOs or devices opened, links only inside the
    // folder, sizes, PNG chunk caps and pixel limits checked before any decoder sees a file.
    const walk = await walkFolder(dir).catch((e: unknown) => {
      throw toApiError(e);
    });
    const o = resolvePrepareOptions({ size, background: req.background ?? '#ffffff', crop: req.crop ?? 'center' });
    const items: DatasetPreviewResult['items'] = [];
    for (const c of walk.candidates) {
      if (items.length >= want) break;
      try {
        const bytes = await readFileChecked(c.absPath, o.limits);
        if (sniff(bytes, c.file).kind !== 'image') continue;
        const prepared = await prepareBytes(bytes, o, c.file);
        // checked above (chunks, header, pixel count): decoding it again for the "before" is bounded
        const before = await sharp(bytes, { limitInputPixels: o.limits.maxPixels }).rotate().resize(96, 96, { fit: 'inside' }).png().toBuffer();
        // The training pixels, enlarged without smoothing so each pixel shows.
        const after = await sharp(Buffer.from(prepared.rgb), { raw: { width: size, height: size, channels: 3 } }).resize(96, 96, { kernel: 'nearest' }).png().toBuffer();
        items.push({ file: c.file, width: prepared.width, height: prepared.height, before: dataUrl(before), after: dataUrl(after) });
      } catch {
        // a broken or refused file: the import lists it with its reason; the preview just skips it
      }
    }
    return { items };
  }

  async getDataset(id: string): Promise<DatasetDetail> {
    const d = await this.store.datasets.get(id);
    if (!d) throw new ApiError('not_found', `No dataset ${id}. List datasets with \`sfumato datasets list\`.`);
    return { ...d, items: await this.store.datasets.items(id), errors: await this.store.datasets.errors(id) };
  }

  async removeDataset(id: string): Promise<boolean> {
    const d = await this.store.datasets.get(id);
    if (!d) return false;
    const removed = await this.store.datasets.remove(id);
    await fs.rm(this.library.abs(this.library.rel('datasets', id)), { recursive: true, force: true });
    return removed;
  }

  // ------------------------------------------------------------ training

  async startRun(req: StartRunRequest): Promise<StartedRun> {
    const dataset = await this.store.datasets.get(req.datasetId);
    if (!dataset) throw new ApiError('not_found', `No dataset ${req.datasetId}. Import one first with \`sfumato datasets import <dir>\`.`);
    // Fine-tuning: the architecture, schedule and objective come from the starting weights.
    let init: { file: string; sha256: string; from: NonNullable<Run['initFrom']>; trainConfig: TrainConfig } | undefined;
    if (req.initCheckpointId && req.initModelId) {
      throw new ApiError('bad_request', 'Give initCheckpointId or initModelId, not both.', { field: 'initModelId' });
    }
    if (req.initCheckpointId) {
      const ck = await this.store.checkpoints.get(req.initCheckpointId);
      if (!ck) throw new ApiError('not_found', `No checkpoint ${req.initCheckpointId}. List them with \`sfumato runs show <run>\`.`);
      const src = await this.store.runs.get(ck.runId);
      init = { file: this.library.abs(ck.file), sha256: ck.sha256, from: { checkpointId: ck.id, sha256: ck.sha256 }, trainConfig: src!.config };
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
      // Fine-tune defaults for what the request left out (lr, warm-up, EMA).
      for (const k of ['lr', 'warmupSteps', 'ema'] as const) if (req.config?.[k] === undefined) overrides[k] = FINE_TUNE_DEFAULTS[k];
    }
    let config: TrainConfig;
    try {
      config = resolveTrainConfig(overrides, dataset.itemCount);
    } catch (e) {
      throw toApiError(e);
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
    const seed = req.seed ?? randomInt(0, 2 ** 31);
    const runId = newId('run');
    const run = await this.store.runs.insert({ id: runId, datasetId: dataset.id, config, seed, initFrom: init?.from ?? null });
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
  async resumeRun(runId: string): Promise<StartedRun> {
    const run = await this.store.runs.get(runId);
    if (!run) throw new ApiError('not_found', `No run ${runId}. List runs with \`sfumato runs list\`.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${runId} is already ${run.status}.`);
    if (run.status === 'completed') throw new ApiError('conflict', `Run ${runId} is completed; fine-tune from its checkpoint to train further.`);
    const ck = await this.store.checkpoints.latest(runId);
    if (!ck) throw new ApiError('conflict', `Run ${runId} has no checkpoint to resume from; start a new run.`);
    const dataset = run.datasetId ? await this.store.datasets.get(run.datasetId) : undefined;
    if (!dataset) throw new ApiError('conflict', `The dataset of run ${runId} was removed; it cannot be resumed.`);
    // The steps after the checkpoint will be trained again.
    await this.store.runs.truncateLosses(runId, ck.step);
    await this.store.runs.recordProgress(runId, ck.step, []);
    await this.store.runs.setStatus(runId, 'queued', { error: null });
    return this.launchTraining((await this.store.runs.get(runId))!, { file: this.library.abs(ck.file), mode: 'resume', preferEma: false, keepOptimizer: true });
  }

  private async launchTraining(run: Run, init: TrainJobSpec['init']): Promise<StartedRun> {
    const runId = run.id;
    const config = run.config;
    const ckptRel = this.library.rel('runs', runId, 'checkpoints');
    const previewRel = this.library.rel('runs', runId, 'previews');
    const spec: TrainJobSpec = {
      kind: 'train',
      runId,
      config,
      seed: run.seed,
      datasetCache: this.library.abs((await this.store.datasets.cacheFile(run.datasetId))!),
      checkpointDir: this.library.abs(ckptRel),
      checkpointDirRel: ckptRel,
      previewDir: this.library.abs(previewRel),
      previewDirRel: previewRel,
      init,
    };
    const jobId = newId('job');
    const base = { jobId, kind: 'train' as const, runId };
    // Recorded before the job starts, so the job's own 'started' (running) always comes after it.
    await this.store.runs.setStatus(runId, 'queued', { pid: null });
    /** a file the job wrote whose row could not be recorded: remove it (no orphan files) */
    const dropFile = (rel: string) => fs.rm(this.library.abs(rel), { force: true }).catch(() => undefined);
    const job = this.jobs.start(
      jobId,
      spec,
      async (msg) => {
        switch (msg.type) {
          case 'started':
            if (await this.cancelledElsewhere(runId)) {
              job.cancel();
              break;
            }
            await this.store.runs.setStatus(runId, 'running', { backend: msg.backend, pid: job.pid ?? null });
            this.emitProgress({ ...base, state: 'running', done: run.step, total: config.steps, message: `training on ${msg.backend}` });
            break;
          case 'train-progress':
            await this.store.runs.recordProgress(runId, msg.step, msg.losses);
            if (await this.cancelledElsewhere(runId)) job.cancel();
            this.emitProgress({
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
              await this.store.checkpoints.insert({
                id: newId('ckpt'),
                runId,
                step: msg.step,
                file: msg.file,
                sha256: msg.sha256,
                loss: msg.loss,
                weightsDigest: msg.weightsDigest,
              });
            } catch (e) {
              await dropFile(msg.file);
              throw e;
            }
            await this.pruneCheckpoints(runId, config.keepCheckpoints);
            break;
          case 'preview':
            try {
              await this.store.runs.addPreview(runId, msg.step, msg.file);
            } catch (e) {
              await dropFile(msg.file);
              throw e;
            }
            this.emitProgress({ ...base, state: 'running', done: msg.step, total: config.steps, preview: msg.file });
            break;
          case 'log':
            this.emitProgress({ ...base, state: 'running', done: -1, total: config.steps, message: msg.message });
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
      this.emitProgress({ ...base, state: 'queued', done: run.step, total: config.steps, message: 'waiting for another training job to finish' });
    }
    const done = job.done.then((outcome) => this.finishRun(runId, jobId, outcome, job.pid));
    this.runFinished.set(runId, done);
    // `done` is always handled here (web mode and the desktop app do not await it): a failure to
    // record the end of the run is reported, never an unhandled rejection that ends the process.
    done.then(
      () => this.runFinished.delete(runId),
      (e: unknown) => {
        this.runFinished.delete(runId);
        this.jobs.emit('handler-error', e);
        const err = toApiError(e);
        this.emitProgress({ ...base, state: 'failed', done: -1, total: config.steps, error: { code: err.code, message: err.message } });
      },
    );
    return { run: (await this.store.runs.get(runId))!, done };
  }

  /**
   * True when another Sfumato process on this library (the CLI's `runs cancel` next to the app, or
   * the app next to a CLI `train`) recorded the run as cancelled: that process cannot reach this
   * job, so the owner stops it at its next progress report.
   */
  private async cancelledElsewhere(runId: string): Promise<boolean> {
    return (await this.store.runs.get(runId))?.status === 'cancelled';
  }

  /** Keep the newest K checkpoints; never those a gallery sample was made from. Row first, then file. */
  private async pruneCheckpoints(runId: string, keep: number): Promise<void> {
    for (const ck of await this.store.checkpoints.prunable(runId, keep)) {
      await this.store.checkpoints.remove(ck.id);
      await fs.rm(this.library.abs(ck.file), { force: true });
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
    await this.store.runs.setStatus(runId, outcome.state, { error: outcome.error?.message ?? null, pid: null });
    return (await this.store.runs.get(runId))!;
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
        const row = await this.store.runs.get(runId);
        const active = (await this.store.runs.active()).find((r) => r.id === runId);
        const ours = active ? active.pid === null || active.pid === pid || !isAlive(active.pid) : row?.error === RECOVERED_AT_START && (row.status === 'interrupted' || row.status === 'failed');
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
          this.jobs.emit('handler-error', e);
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
    this.emitProgress({
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
  async pauseRun(id: string): Promise<Run> {
    const run = await this.store.runs.get(id);
    if (!run) throw new ApiError('not_found', `No run ${id}.`);
    const job = this.jobs.list().find((j) => j.runId === id);
    const finished = this.runFinished.get(id);
    if (!job || !finished) throw new ApiError('conflict', `Run ${id} is ${run.status}, not running; only a running run can be paused.`);
    this.jobs.get(job.id)?.pause();
    return finished;
  }

  /**
   * Calibrated time per step for a configuration on this machine's active backend: a short job
   * times a few real training steps on the dataset (nothing is stored).
   */
  async estimateRun(req: { datasetId: string; config?: Partial<TrainConfig> }): Promise<{ secondsPerStep: number; backend: string; totalSeconds: number; steps: number }> {
    const dataset = await this.store.datasets.get(req.datasetId);
    if (!dataset) throw new ApiError('not_found', `No dataset ${req.datasetId}.`);
    let config: TrainConfig;
    try {
      config = resolveTrainConfig({ imageSize: dataset.imageSize, ...req.config }, dataset.itemCount);
    } catch (e) {
      throw toApiError(e);
    }
    const jobId = newId('job');
    let backend = '';
    let secondsPerStep = NaN;
    const job = this.jobs.start(
      jobId,
      {
        kind: 'train',
        runId: 'estimate',
        config,
        seed: 0,
        datasetCache: this.library.abs((await this.store.datasets.cacheFile(dataset.id))!),
        checkpointDir: this.library.abs('tmp'),
        checkpointDirRel: 'tmp',
        previewDir: this.library.abs('tmp'),
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

  async cancelRun(id: string): Promise<Run> {
    const run = await this.store.runs.get(id);
    if (!run) throw new ApiError('not_found', `No run ${id}.`);
    const job = this.jobs.list().find((j) => j.runId === id);
    const finished = this.runFinished.get(id);
    if (job && finished) {
      this.jobs.get(job.id)?.cancel();
      return finished;
    } else if (['queued', 'running', 'paused', 'interrupted'].includes(run.status)) {
      await this.store.runs.setStatus(id, 'cancelled', { pid: null });
    }
    return (await this.store.runs.get(id))!;
  }

  // ------------------------------------------------------------ sampling

  async generate(req: GenerateRequest, onProgress?: (p: JobProgress) => void): Promise<GenerateResult> {
    let checkpoint: Checkpoint | undefined;
    if (req.checkpointId) {
      checkpoint = await this.store.checkpoints.get(req.checkpointId);
      if (!checkpoint) throw new ApiError('not_found', `No checkpoint ${req.checkpointId}.`);
    } else if (req.runId) {
      const run = await this.store.runs.get(req.runId);
      if (!run) throw new ApiError('not_found', `No run ${req.runId}. List runs with \`sfumato runs list\`.`);
      checkpoint = await this.store.checkpoints.latest(req.runId);
      if (!checkpoint) throw new ApiError('conflict', `Run ${req.runId} has no checkpoint yet; wait for its first checkpoint or train it longer.`);
    } else if (req.modelId) {
      checkpoint = req.modelId.startsWith('model_') ? (await this.store.checkpoints.get((await this.importedModel(req.modelId)).checkpointId))! : await this.bundledModelCheckpoint(req.modelId);
    } else {
      throw new ApiError('bad_request', 'Say what to sample from: runId (its latest checkpoint), checkpointId or modelId (a bundled model).', { field: 'runId' });
    }
    const run = (await this.store.runs.get(checkpoint.runId))!;
    const seed0 = req.seed ?? randomInt(0, 2 ** 31);
    let seeds: number[];
    let origins: SampleOrigin[];
    let sourceImage: Float32Array | undefined;
    const o = req.origin;
    if (!o) {
      seeds = Array.from({ length: req.count }, (_, i) => seed0 + i);
      origins = seeds.map(() => ({ kind: 'seed' }));
    } else if (o.kind === 'variation') {
      if (!(o.strength >= 0 && o.strength <= 1)) throw new ApiError('bad_request', 'origin.strength must be between 0 and 1.', { field: 'origin.strength' });
      seeds = Array.from({ length: req.count }, () => seed0);
      // Each variation blends the same base seed toward a different subseed.
      origins = seeds.map((_, i) => ({ kind: 'variation', subseed: o.subseed + i, strength: o.strength }));
    } else if (o.kind === 'interpolation') {
      if (!(Number.isInteger(o.frames) && o.frames >= 2 && o.frames <= 256)) throw new ApiError('bad_request', 'origin.frames must be an integer from 2 to 256.', { field: 'origin.frames' });
      seeds = Array.from({ length: o.frames }, () => seed0);
      origins = seeds.map((_, i) => ({ kind: 'interpolation', seedB: o.seedB, t: i / (o.frames - 1) }));
    } else {
      if (!(o.strength > 0 && o.strength <= 1)) throw new ApiError('bad_request', 'origin.strength must be in (0, 1]: the share of the schedule to re-noise.', { field: 'origin.strength' });
      const src = await this.sourcePixels(o, run.config.imageSize);
      sourceImage = src.pixels;
      seeds = Array.from({ length: req.count }, (_, i) => seed0 + i);
      origins = seeds.map(() => ({ kind: 'img2img', strength: o.strength, source: src.ref }));
    }
    const parentId = req.parentId ?? (o?.kind === 'img2img' ? o.sourceSampleId : undefined) ?? null;
    if (parentId && !(await this.store.samples.get(parentId))) throw new ApiError('not_found', `No gallery sample ${parentId}.`);
    return this.runSampling({ checkpoint, run, sampler: req.sampler ?? 'ddim', steps: req.steps, options: req.options ?? {}, seeds, origins, sourceImage, parentId, engine: req.engine }, onProgress);
  }

  /**
   * A bundled base model as a checkpoint of this library (copied in once, as a completed run with
   * no dataset), so sampling, the gallery and reproduce treat it like any trained checkpoint.
   */
  async bundledModelCheckpoint(modelId: string): Promise<Checkpoint> {
    const m = await findBundledModel(modelId);
    const existing = await this.store.checkpoints.bySha256(m.sha256);
    if (existing) return existing;
    const rel = this.library.rel('models', `${m.id}.sfwt`);
    // Atomic (a full disk leaves no half-copied model); the file is keyed by model id, so a copy
    // whose rows could not be written is simply reused next time.
    await writeFileAtomic(this.library.abs(rel), await fs.readFile(m.file), { folder: this.library.root });
    const runId = newId('run');
    await this.store.runs.insert({ id: runId, datasetId: null, config: m.trainConfig, seed: 0, initFrom: { modelId: m.id, sha256: m.sha256 } });
    const steps = m.trainConfig.steps;
    await this.store.runs.recordProgress(runId, steps, []);
    await this.store.runs.setStatus(runId, 'completed');
    return this.store.checkpoints.insert({ id: newId('ckpt'), runId, step: steps, file: rel, sha256: m.sha256, loss: null, weightsDigest: null });
  }

  /**
   * Import an external ONNX UNet (a diffusers UNet2DModel exported with optimum, a torch.onnx
   * export, or one of ours): validate its signature, store a copy in the library, and register it
   * as a completed run with one checkpoint (the .onnx file), so sampling, the gallery and
   * reproduce work as for our own models. The user states what it predicts and its schedule.
   */
  async importOnnxModel(req: { file: string; prediction: string; schedule: unknown; name?: string }): Promise<ImportedModel> {
    // never a FIFO or device (it would block forever), never more than MAX_ONNX_BYTES in memory
    const bytes = await readUserFile(req.file, MAX_ONNX_BYTES, 'file');
    const { inspectOnnxUNet, OnnxModelError } = await import('../onnx/inspect');
    let sig;
    try {
      sig = inspectOnnxUNet(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      if (e instanceof OnnxModelError) throw new ApiError('bad_request', `${req.file}: ${e.message}`, { field: 'file', reason: e.code });
      throw e;
    }
    if (sig.channels !== 3) throw new ApiError('bad_request', `${req.file}: the model has ${sig.channels} image channels; Sfumato samples RGB models (3 channels).`, { field: 'file' });
    const size = sig.height ?? sig.sfumato?.imageSize;
    if (!size || (sig.width !== undefined && sig.width !== size)) {
      throw new ApiError('bad_request', `${req.file}: the model's sample input has no fixed square size (found ${sig.sample.dims.join('x')}); export it with a fixed H = W.`, { field: 'file' });
    }
    const objective = req.prediction as TrainConfig['objective'];
    if (!['eps', 'x0', 'v'].includes(objective)) throw new ApiError('bad_request', 'prediction must be eps, x0 or v.', { field: 'prediction' });
    let config: TrainConfig;
    try {
      const base = resolveTrainConfig({ imageSize: size, channelMults: [1], attentionResolutions: [], objective, schedule: req.schedule as never });
      config = base;
    } catch (e) {
      throw toApiError(e);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const existing = await this.store.checkpoints.bySha256(sha256);
    const modelId = existing ? (await this.store.runs.get(existing.runId))?.initFrom?.modelId : undefined;
    if (existing && modelId) return this.importedModel(modelId);
    const id = newId('model');
    const rel = this.library.rel('models', `${id}.onnx`);
    await writeFileAtomic(this.library.abs(rel), bytes, { folder: this.library.root });
    const runId = newId('run');
    try {
      await this.store.runs.insert({ id: runId, datasetId: null, config, seed: 0, initFrom: { modelId: id, sha256, name: req.name ?? basename(req.file), kind: 'onnx', signature: sig } as never });
      await this.store.runs.setStatus(runId, 'completed');
      await this.store.checkpoints.insert({ id: newId('ckpt'), runId, step: 0, file: rel, sha256, loss: null, weightsDigest: null });
    } catch (e) {
      // No checkpoint row, no model file (a half-registered run without a checkpoint is harmless).
      await fs.rm(this.library.abs(rel), { force: true }).catch(() => undefined);
      throw e;
    }
    return this.importedModel(id);
  }

  /** An imported ONNX model by id (its run and checkpoint). */
  async importedModel(id: string): Promise<ImportedModel> {
    const run = (await this.store.runs.list()).find((r) => r.initFrom?.modelId === id && (r.initFrom as { kind?: string }).kind === 'onnx');
    if (!run) throw new ApiError('not_found', `No imported model ${id}. List them with \`sfumato models list\`.`);
    const ck = (await this.store.checkpoints.latest(run.id))!;
    const init = run.initFrom as unknown as { name: string; signature: unknown };
    return { id, name: init.name, sha256: ck.sha256, prediction: run.config.objective, schedule: run.config.schedule, imageSize: run.config.imageSize, runId: run.id, checkpointId: ck.id, signature: init.signature };
  }

  async listImportedModels(): Promise<ImportedModel[]> {
    const runs = (await this.store.runs.list()).filter((r) => (r.initFrom as { kind?: string } | null)?.kind === 'onnx');
    return Promise.all(runs.map((r) => this.importedModel(r.initFrom!.modelId!)));
  }

  /** Pixels of an image-to-image source at the model size, NCHW in [-1, 1], with its reference. */
  private async sourcePixels(
    o: { sourceSampleId?: string; sourceDatasetItemId?: string },
    size: number,
  ): Promise<{ pixels: Float32Array; ref: { sampleId?: string; datasetItemId?: string; sha256: string } }> {
    let rgb: Uint8Array;
    let ref: { sampleId?: string; datasetItemId?: string };
    if (o.sourceSampleId) {
      const smp = await this.store.samples.get(o.sourceSampleId);
      if (!smp) throw new ApiError('not_found', `No gallery sample ${o.sourceSampleId}.`);
      // a gallery file is ours, but a bounded decode costs nothing: its recorded size, checked from the header
      const { data } = await sharp(this.library.abs(smp.file), { limitInputPixels: Math.max(1, smp.width * smp.height) })
        .removeAlpha()
        .resize(size, size, { fit: 'cover', kernel: 'lanczos3' })
        .raw()
        .toBuffer({ resolveWithObject: true })
        .catch((e: Error) => {
          throw new ApiError('conflict', `The gallery image of ${smp.id} (${smp.file}) cannot be read as the ${smp.width} x ${smp.height} image it was (${e.message.split('\n')[0]}); it was changed on disk. Pick another source image.`, { field: 'origin.sourceSampleId' });
        });
      rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      ref = { sampleId: smp.id };
    } else if (o.sourceDatasetItemId) {
      const item = await this.store.datasets.item(o.sourceDatasetItemId);
      if (!item) throw new ApiError('not_found', `No dataset item ${o.sourceDatasetItemId}.`);
      const cache = await readCache(this.library.abs((await this.store.datasets.cacheFile(item.datasetId))!));
      if (cache.size !== size) {
        throw new ApiError('bad_request', `The dataset was prepared at ${cache.size} px but the model works at ${size} px; re-import it at ${size} px.`, { field: 'origin.sourceDatasetItemId' });
      }
      const per = size * size * 3;
      rgb = cache.pixels.slice(item.index * per, (item.index + 1) * per);
      ref = { datasetItemId: item.id };
    } else {
      throw new ApiError('bad_request', 'image-to-image needs origin.sourceSampleId or origin.sourceDatasetItemId.', { field: 'origin' });
    }
    const sha256 = createHash('sha256').update(rgb).digest('hex');
    const pixels = new Float32Array(3 * size * size);
    for (let c = 0; c < 3; c++) for (let p = 0; p < size * size; p++) pixels[c * size * size + p] = rgb[p * 3 + c] / 127.5 - 1;
    return { pixels, ref: { ...ref, sha256 } };
  }

  private async runSampling(
    p: {
      checkpoint: Checkpoint;
      run: Run;
      sampler: SamplerName;
      steps?: number;
      options: SamplerOptions;
      seeds: number[];
      origins: SampleOrigin[];
      sourceImage?: Float32Array;
      parentId: string | null;
      engine?: 'auto' | 'onnx' | 'tfjs';
      /** denoising animation: collect image 0's per-step frames here */
      frames?: { what: 'x0' | 'xt'; out: Uint8Array[] };
      /** reproduce: write to a scratch folder and record nothing */
      scratchDir?: { abs: string; rel: string };
    },
    onProgress?: (p: JobProgress) => void,
  ): Promise<GenerateResult> {
    const { checkpoint, run, sampler, options, seeds } = p;
    // Validate the sampler against the model's schedule here, so a bad request fails before any job starts.
    let steps: number | undefined;
    try {
      const process = makeProcess(run.config.schedule);
      const settings = validateSamplerSettings({ name: sampler, ...(sampler === 'pf-ode' ? {} : { steps: p.steps ?? 20 }), ...options }, process, 'sampler');
      steps = settings.steps;
      if (p.sourceImage && sampler === 'pf-ode') throw new DiffusionConfigError('sampler.name', 'image-to-image needs a fixed-step sampler (ddim, euler, heun, dpmpp-2m, …), not pf-ode');
    } catch (e) {
      throw toApiError(e);
    }
    const ids = seeds.map(() => newId('smp'));
    const jobId = newId('job');
    const outRel = p.scratchDir?.rel ?? this.library.rel('samples', new Date().toISOString().slice(0, 10));
    const spec: SampleJobSpec = {
      kind: 'sample',
      jobId,
      config: run.config,
      checkpointFile: this.library.abs(checkpoint.file),
      engine: p.engine ?? 'auto',
      seeds,
      sampler,
      steps,
      options,
      outDir: p.scratchDir?.abs ?? this.library.abs(outRel),
      outDirRel: outRel,
      names: ids,
      origins: p.origins,
      sourceImage: p.sourceImage,
      captureFrames: p.frames?.what,
      record: {
        sampler,
        samplerOptions: options,
        schedule: run.config.schedule,
        prediction: run.config.objective,
        checkpoint: { id: checkpoint.id, sha256: checkpoint.sha256 },
        runId: run.id,
        width: run.config.imageSize,
        height: run.config.imageSize,
        appVersion: APP_VERSION,
        parentId: p.parentId,
      },
    };
    const samples: SampleRecord[] = [];
    let prog = { done: 0, total: seeds.length * (steps ?? 1) };
    const emit = (e: Omit<JobProgress, 'jobId' | 'kind' | 'runId'>) => {
      const full: JobProgress = { jobId, kind: 'sample', runId: run.id, ...e };
      onProgress?.(full);
      if (!p.scratchDir) this.emitProgress(full);
    };
    const job = this.jobs.start(
      jobId,
      spec,
      async (msg) => {
        if (msg.type === 'frame') {
          p.frames?.out.push(msg.rgb);
        } else if (msg.type === 'sample-preview') {
          emit({ state: 'running', done: prog.done, total: prog.total, sampleIds: samples.map((s) => s.id), previewImage: msg.dataUrl, previewIndex: msg.image });
        } else if (msg.type === 'sample-progress') {
          prog = { done: msg.done, total: msg.total };
          emit({ state: 'running', done: msg.done, total: msg.total, sampleIds: samples.map((s) => s.id) });
        } else if (msg.type === 'sample') {
          if (p.scratchDir) samples.push(msg.record);
          else {
            try {
              samples.push(await this.store.samples.insert(msg.record));
            } catch (e) {
              // The row could not be written (lock held past the retry budget, full disk): the
              // PNG goes too, and the job fails (JobManager stops it).
              await fs.rm(this.library.abs(msg.record.file), { force: true }).catch(() => undefined);
              throw e;
            }
          }
          emit({ state: 'running', done: prog.done, total: prog.total, sampleIds: samples.map((s) => s.id) });
        }
      },
      { runId: run.id },
      {
        onDiscard: async (msg) => {
          if (msg.type === 'sample' && !p.scratchDir) await fs.rm(this.library.abs(msg.record.file), { force: true }).catch(() => undefined);
        },
      },
    );
    if (job.info.state === 'queued') {
      emit({ state: 'queued', done: 0, total: prog.total, sampleIds: [], message: 'waiting for another sampling job to finish' });
      void job.started.then(() => emit({ state: 'running', done: 0, total: prog.total, sampleIds: [] }));
    }
    const outcome = await job.done;
    const sampleIds = samples.map((s) => s.id);
    if (outcome.state === 'failed' || outcome.state === 'interrupted') {
      emit({ state: 'failed', done: samples.length, total: seeds.length, sampleIds, error: { code: 'internal', message: outcome.error?.message ?? 'sampling failed' } });
      const code = outcome.error?.code === 'bad_request' || outcome.error?.code === 'unavailable' ? outcome.error.code : 'internal';
      throw new ApiError(code, `Sampling failed: ${outcome.error?.message ?? 'the job ended early'}`, { samplesWritten: sampleIds });
    }
    const cancelled = outcome.state === 'cancelled';
    emit({ state: cancelled ? 'cancelled' : 'completed', done: cancelled ? prog.done : prog.total, total: prog.total, sampleIds });
    return { jobId, samples, cancelled };
  }

  /**
   * Regenerate a gallery sample from its record (same checkpoint, sampler, settings, seed and
   * origin) into a scratch folder and compare the pixels with the stored image.
   */
  async reproduce(sampleId: string, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    const rec = await this.store.samples.get(sampleId);
    if (!rec) throw new ApiError('not_found', `No gallery sample ${sampleId}.`);
    return this.reproduceRecord(rec, this.library.abs(rec.file), onProgress);
  }

  /** Reproduce from a PNG file's embedded Sfumato record (the checkpoint must be in this library). */
  async reproduceFile(file: string, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    const bytes = await readUserFile(file, MAX_REPRODUCE_FILE_BYTES, 'file');
    // The pixel count comes from the header, checked before anything decodes the file.
    const dims = pngHeaderSize(bytes);
    if (!dims) throw new ApiError('bad_request', `${file} is not a PNG image. Reproduce reads the PNG files Sfumato writes (they carry the recipe); give one of those.`, { field: 'file' });
    const meta = readSampleMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (!meta.record) {
      // problems about the recipe's bounds first: they name the field and the allowed range
      const problems = [...meta.problems].sort((a, b) => Number(/ must be /.test(b)) - Number(/ must be /.test(a)));
      throw new ApiError('bad_request', `${file} carries no complete Sfumato record${problems.length ? ` (${problems.slice(0, 3).join('; ')})` : ''}; only unmodified images made by Sfumato can be reproduced.`, { field: 'file' });
    }
    // The file's fields were type- and bounds-checked by the reader; what we act on is validated
    // again here: the sampler settings by validateSamplerSettings (in runSampling), the origin
    // below, and the schedule and model come from this library's checkpoint, not from the file.
    const rec = meta.record as unknown as SampleRecord;
    if (!(SAMPLER_NAMES as readonly string[]).includes(rec.sampler)) throw new ApiError('bad_request', `${file}: unknown sampler ${JSON.stringify(rec.sampler)}.`);
    if (dims.width !== rec.width || dims.height !== rec.height) {
      throw new ApiError('bad_request', `${file} is ${dims.width} x ${dims.height} px but its record says ${rec.width} x ${rec.height}: the image was resized or altered, so it cannot be compared. Reproduce the original PNG that Sfumato wrote.`, { field: 'file' });
    }
    rec.origin = validateOrigin(rec.origin);
    return this.reproduceRecord(rec, bytes, onProgress);
  }

  /**
   * A denoising animation of a gallery sample: regenerate it (as reproduce does) while recording
   * image 0's predicted x0 (or its state x_t) at every step, then encode GIF or animated WebP.
   */
  async animateSample(
    id: string,
    opts: { out: string; what?: 'x0' | 'xt'; format?: 'gif' | 'webp'; delayMs?: number; scale?: number; signal?: AbortSignal },
    onProgress?: (p: JobProgress) => void,
  ): Promise<{ file: string; frames: number; identical: boolean }> {
    const rec = await this.store.samples.get(id);
    if (!rec) throw new ApiError('not_found', `No gallery sample ${id}.`);
    const out = resolve(opts.out);
    const cancelled = () => new ApiError('cancelled', `The animation was cancelled; nothing was written to ${out}.`);
    const frames = { what: opts.what ?? 'x0', out: [] as Uint8Array[] };
    let r: ReproduceResult;
    try {
      r = await this.reproduceRecord(rec, this.library.abs(rec.file), onProgress, frames);
    } catch (e) {
      throw e instanceof ApiError && e.code === 'cancelled' ? cancelled() : e;
    }
    if (opts.signal?.aborted) throw cancelled();
    const { denoisingAnimation } = await import('../gallery/export');
    const final = await rawPixels(this.library.abs(rec.file), rec.width);
    const format = opts.format ?? (out.toLowerCase().endsWith('.webp') ? 'webp' : 'gif');
    let bytes: Uint8Array;
    try {
      bytes = await denoisingAnimation([...frames.out, final], rec.width, rec.height, {
        format,
        delayMs: opts.delayMs ?? 120,
        lastFrameDelayMs: 1500,
        scale: opts.scale ?? Math.max(1, Math.floor(256 / rec.width)),
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw cancelled();
      throw e;
    }
    if (opts.signal?.aborted) throw cancelled();
    // Atomic and never over an existing file: a temp file beside `out`, fsync, no-clobber move.
    const { writeNewFile } = await import('../gallery/atomic');
    await writeNewFile(out, bytes).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw new ApiError('conflict', `${out} exists; choose another file name.`, { field: 'out' });
      if (isNoSpaceErrno(e)) {
        throw new ApiError(
          'unavailable',
          `Could not write the animation ${out}: ${e.code === 'EROFS' ? 'the disk is read-only' : 'the disk is full'} (${e.code}); nothing was written there. Free space on the disk that holds ${dirname(out)}, or choose another file, and try again.`,
          { field: 'out' },
        );
      }
      throw new ApiError('bad_request', `Cannot write the animation ${out}: ${e.message}. Check that the folder exists and that you may write to it.`, { field: 'out' });
    });
    return { file: out, frames: frames.out.length + 1, identical: r.identical };
  }

  private async reproduceRecord(
    rec: SampleRecord,
    /** the image to compare with: a library file, or the bytes of a user's PNG */
    file: string | Buffer,
    onProgress?: (p: JobProgress) => void,
    frames?: { what: 'x0' | 'xt'; out: Uint8Array[] },
  ): Promise<ReproduceResult> {
    const checkpoint = (rec.checkpoint.id && (await this.store.checkpoints.get(rec.checkpoint.id))) || (await this.store.checkpoints.bySha256(rec.checkpoint.sha256));
    if (!checkpoint || checkpoint.sha256 !== rec.checkpoint.sha256) {
      throw new ApiError('not_found', `The checkpoint this image came from (sha256 ${rec.checkpoint.sha256.slice(0, 12)}…) is not in this library.`);
    }
    const run = (await this.store.runs.get(checkpoint.runId))!;
    const size = run.config.imageSize;
    if (rec.width !== size || rec.height !== size) {
      throw new ApiError('conflict', `The image is ${rec.width} x ${rec.height} px but checkpoint ${checkpoint.id} makes ${size} x ${size} images, so it cannot come from that checkpoint unchanged. Reproduce the original PNG that Sfumato wrote.`);
    }
    let sourceImage: Float32Array | undefined;
    if (rec.origin.kind === 'img2img') {
      const src = await this.sourcePixels({ sourceSampleId: rec.origin.source.sampleId, sourceDatasetItemId: rec.origin.source.datasetItemId }, run.config.imageSize);
      if (src.ref.sha256 !== rec.origin.source.sha256) throw new ApiError('conflict', 'The image-to-image source has changed since this image was made; it cannot be reproduced exactly.');
      sourceImage = src.pixels;
    }
    const scratchRel = this.library.rel('tmp', `reproduce-${newId('job')}`);
    const scratch = { abs: this.library.abs(scratchRel), rel: scratchRel };
    try {
      const r = await this.runSampling(
        {
          checkpoint,
          run,
          sampler: rec.sampler,
          steps: rec.sampler === 'pf-ode' ? undefined : rec.steps,
          options: rec.samplerOptions,
          seeds: [rec.seed],
          origins: [rec.origin],
          sourceImage,
          parentId: null,
          // the same engine as the original (ONNX Runtime or tfjs): results are exact per engine
          engine: rec.backend.startsWith('onnxruntime') ? 'onnx' : 'tfjs',
          frames,
          scratchDir: scratch,
        },
        onProgress,
      );
      const again = r.samples[0];
      if (r.cancelled || !again) throw new ApiError('cancelled', 'Reproduce was cancelled before the image was regenerated; nothing was compared and nothing was added to the gallery.');
      const [a, b] = await Promise.all([rawPixels(file, size), rawPixels(this.library.abs(again.file), size)]);
      let maxDiff = 0;
      let differing = 0;
      const px = Math.min(a.length, b.length) / 3;
      for (let i = 0; i < px; i++) {
        let d = 0;
        for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(a[i * 3 + c] - b[i * 3 + c]));
        if (d > 0) differing++;
        maxDiff = Math.max(maxDiff, d);
      }
      return { sampleId: rec.id, identical: a.length === b.length && maxDiff === 0, maxDiff, differingShare: px ? differing / px : 1, backend: again.backend };
    } finally {
      await fs.rm(scratch.abs, { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------ gallery organisation and export

  async exportSamples(req: ExportRequest, onProgress?: (p: JobProgress) => void): Promise<ExportResult> {
    const records: SampleRecord[] = [];
    for (const id of req.ids) {
      const r = await this.store.samples.get(id);
      if (!r) throw new ApiError('not_found', `No gallery sample ${id}.`);
      records.push(r);
    }
    if (!records.length) throw new ApiError('bad_request', 'Nothing to export: give at least one sample id.', { field: 'ids' });
    if (req.upscale !== undefined && !(Number.isInteger(req.upscale) && req.upscale >= 1 && req.upscale <= 16)) {
      throw new ApiError('bad_request', `upscale: give a whole number from 1 to 16 (got ${req.upscale}).`, { field: 'upscale' });
    }
    if (!req.download && !req.to) throw new ApiError('bad_request', 'to: give a folder or a file ending in .zip to export to.', { field: 'to' });
    const jobId = newId('job');
    // A download goes to a fresh random folder under <library>/exports: a zip, or one image when
    // one sample and no contact sheet (downloads.ts serves it once, within an hour).
    const dl = req.download ? await this.downloads.create() : undefined;
    const single = records.length === 1 && !req.contactSheet;
    const to = dl ? (single ? dl.dir : join(dl.dir, 'sfumato-export.zip')) : resolve(req.to!);
    let result: ExportResult | undefined;
    const job = this.jobs.start(
      jobId,
      {
        kind: 'export',
        jobId,
        samples: records.map((record) => ({ record, absFile: this.library.abs(record.file) })),
        to,
        format: req.format ?? 'png',
        contactSheet: !!req.contactSheet,
        ...(req.upscale && req.upscale > 1 ? { upscale: req.upscale } : {}),
        ...(dl ? { sheetInZip: true } : {}),
      },
      (msg) => {
        if (msg.type === 'export-progress') {
          const p: JobProgress = { jobId, kind: 'export', state: 'running', done: msg.done, total: msg.total };
          onProgress?.(p);
          this.emitProgress(p);
        } else if (msg.type === 'export-done') result = msg.result;
      },
    );
    const outcome = await job.done;
    if (dl && !result) await this.downloads.discard(dl.id);
    if (outcome.state === 'cancelled') throw new ApiError('cancelled', 'The export was cancelled; nothing was left half-written.');
    if (!result) {
      const code = outcome.error?.code;
      throw new ApiError(code === 'bad_request' || code === 'conflict' || code === 'unavailable' ? code : 'internal', outcome.error?.message ?? 'The export failed.');
    }
    if (dl) result.download = this.downloads.register(dl.id, single ? join(result.path, result.files[0]) : result.path);
    return result;
  }

  // ------------------------------------------------------------ system

  async systemInfo(): Promise<SystemInfo> {
    return {
      appVersion: APP_VERSION,
      mode: this.mode,
      libraryPath: this.library.root,
      demoDatasetDir: await demoDatasetDir(),
      versions: collectVersions(),
      backend: await probeBackends(),
    };
  }
}

/** Any error to the contract's shape: the one mapping (api/errors.ts). */
export function toApiError(e: unknown): ApiError {
  return mapError(e);
}

/** A sample origin read from an untrusted file, checked field by field. */
export function validateOrigin(raw: unknown): SampleOrigin {
  const o = (raw ?? {}) as Record<string, unknown>;
  const num = (k: string, lo: number, hi: number) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new ApiError('bad_request', `origin.${k} must be a number in [${lo}, ${hi}].`);
    return v;
  };
  switch (o.kind) {
    case 'seed':
      return { kind: 'seed' };
    case 'variation':
      return { kind: 'variation', subseed: num('subseed', 0, 2 ** 53 - 1), strength: num('strength', 0, 1) };
    case 'interpolation':
      return { kind: 'interpolation', seedB: num('seedB', 0, 2 ** 53 - 1), t: num('t', 0, 1) };
    case 'img2img': {
      const src = (o.source ?? {}) as Record<string, unknown>;
      const idOk = (v: unknown) => v === undefined || (typeof v === 'string' && /^[a-z]+_[0-9a-z]{1,40}$/.test(v));
      if (!idOk(src.sampleId) || !idOk(src.datasetItemId) || typeof src.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(src.sha256)) {
        throw new ApiError('bad_request', 'origin.source must name a sample or dataset item and carry a sha256.');
      }
      return {
        kind: 'img2img',
        strength: num('strength', 0, 1),
        source: { sampleId: src.sampleId as string | undefined, datasetItemId: src.datasetItemId as string | undefined, sha256: src.sha256 },
      };
    }
    default:
      throw new ApiError('bad_request', `origin.kind ${JSON.stringify(o.kind)} is not one of seed, variation, interpolation, img2img.`);
  }
}

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

/**
 * Decoded RGB bytes of an image (alpha dropped) that should be `size` x `size`: sharp refuses
 * anything larger from its header, before decoding, and the error says what to do.
 */
async function rawPixels(input: string | Buffer, size: number): Promise<Uint8Array> {
  try {
    const { data } = await sharp(input, { limitInputPixels: size * size }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    const what = typeof input === 'string' ? input : 'The image';
    const why = /pixel limit/i.test(String((e as Error)?.message)) ? `is larger than the ${size} x ${size} px the model makes` : `cannot be decoded (${String((e as Error)?.message ?? e).split('\n')[0]})`;
    throw new ApiError('bad_request', `${what} ${why}. Reproduce the original, unmodified PNG that Sfumato wrote.`);
  }
}

/** Most bytes a PNG given to `reproduce` may have (Sfumato's samples are a few KB). */
const MAX_REPRODUCE_FILE_BYTES = 64 * 1024 * 1024;
/** Most bytes an imported ONNX model may have (protobuf's own limit is 2 GB). */
const MAX_ONNX_BYTES = 1024 * 1024 * 1024;

/**
 * A user-named file read safely: regular files only (a FIFO or device is refused at once instead
 * of blocking), at most `maxBytes`. Errors name the file, say what is wrong and what to do.
 */
async function readUserFile(file: string, maxBytes: number, field: string): Promise<Buffer> {
  try {
    return await readRegularFile(resolve(file), maxBytes);
  } catch (e) {
    // a missing file is bad input (exit code 2 in the CLI), like every other refusal here
    if (e instanceof DatasetError) throw new ApiError('bad_request', `${file} ${e.message}`, { field, reason: e.code });
    throw e;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

