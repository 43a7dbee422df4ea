/**
 * The service layer's composition root: one object that the Electron IPC handlers, the web
 * server, the CLI and the tests all drive. It opens the library folder, the store and the job
 * manager, builds one service per concern (datasets, runs, sampling, reproduce, models, gallery)
 * and exposes the contract (`api`: every channel, its request validated first).
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../db/files';
import type { ExportRequest, GenerateRequest, ImportDatasetRequest, StartRunRequest } from '../api/requests';
import type { GenerateResult, ImportDatasetResult, JobProgress, ReproduceResult, SystemInfo, ProvidersInfo, ExportResult } from '../api/types';
import { Db } from '../db/db';
import { Library, resolveLibraryPath } from '../db/library';
import { repositories, type Store } from '../db/repositories';
import { forkLauncher, type JobLauncher } from '../jobs/launcher';
import { JobManager, type JobLimits } from '../jobs/manager';
import { QueueDispatcher, type QueueDispatcherOptions } from '../jobs/queue-dispatch';
import { demoDatasetDir } from './bundled';
import type { ServiceContext } from './context';
import { DatasetService } from './datasets';
import { ExportDownloads } from './downloads';
import { GalleryService } from './gallery';
import { ModelService } from './models';
import { PresetService } from './presets';
import { ReproduceService } from './reproduce';
import { GridService } from './grid';
import { LikelihoodService } from './likelihood';
import { RunService, type StartedRun } from './runs';
import { SamplingService } from './sampling';
import { APP_VERSION, collectVersions, probeBackends, probeProviders } from './system';
import { buildHandlers, validatedApi, type ValidatedApi } from './handlers';

export { validateOrigin } from './errors';
export { toApiError } from '../api/errors';
export type { StartedRun } from './runs';

export interface OpenOptions {
  /** explicit library folder (--data-dir, Electron userData); else SFUMATO_HOME / XDG default */
  libraryPath?: string;
  mode: SystemInfo['mode'];
  launcher?: JobLauncher;
  /** how long a database write waits for a lock held by another program (default 45 s) */
  dbRetryMs?: number;
  /** job processes run at once per kind (default: one training, two sampling jobs) */
  jobLimits?: JobLimits;
  /** stops long work of this process that is not a job (a dataset import): the CLI's Ctrl-C */
  signal?: AbortSignal;
  /**
   * `serve --queue redis://…`: training and sampling jobs go to workers through BullMQ on Redis
   * (jobs/queue-dispatch.ts); without it they run in local job processes as always.
   */
  queue?: Omit<QueueDispatcherOptions, 'libraryRoot' | 'local'>;
}

/** Training runs that were with workers when a queue server stopped; resumed at its next start. */
const QUEUE_RUNS_FILE = 'tmp/queue-runs.json';

/** With a queue the workers set the pace: the server hands every training and sampling job to Redis at once. */
const QUEUED_JOB_LIMITS: JobLimits = { train: 1000, sample: 1000 };

export class Sfumato implements ServiceContext {
  readonly events = new EventEmitter();
  readonly jobs: JobManager;
  /** web mode's export downloads under <library>/exports */
  readonly downloads: ExportDownloads;
  readonly datasets: DatasetService;
  readonly runs: RunService;
  readonly models: ModelService;
  readonly sampling: SamplingService;
  readonly grids: GridService;
  readonly reproduction: ReproduceService;
  readonly gallery: GalleryService;
  /** saved schedules and sampling / training presets */
  readonly presets: PresetService;
  readonly likelihood: LikelihoodService;
  /** The contract, implemented (services/handlers.ts): every function validates its request first. */
  readonly api: ValidatedApi;

  private constructor(
    readonly library: Library,
    readonly store: Store,
    readonly mode: SystemInfo['mode'],
    private readonly launcher: JobLauncher,
    jobLimits?: JobLimits,
    readonly signal?: AbortSignal,
    /** the job queue when the server was started with one */
    readonly queue?: QueueDispatcher,
  ) {
    this.jobs = new JobManager(launcher, jobLimits);
    this.downloads = new ExportDownloads(library);
    this.jobs.on('handler-error', (e: Error) => console.error('[sfumato] job message handler failed:', e));
    this.datasets = new DatasetService(this);
    this.runs = new RunService(this);
    this.models = new ModelService(this);
    this.sampling = new SamplingService(this, this.models);
    this.grids = new GridService(this, this.sampling);
    this.reproduction = new ReproduceService(this, this.sampling);
    this.gallery = new GalleryService(this, this.downloads);
    this.presets = new PresetService(this);
    this.likelihood = new LikelihoodService(this, this.sampling);
    this.api = validatedApi(buildHandlers(this));
  }

  static async open(opts: OpenOptions): Promise<Sfumato> {
    const library = new Library(resolveLibraryPath(opts.libraryPath));
    const db = await Db.open(library.dbFile, { retryMs: opts.dbRetryMs });
    const local = opts.launcher ?? forkLauncher;
    let queue: QueueDispatcher | undefined;
    try {
      queue = opts.queue ? await QueueDispatcher.open({ ...opts.queue, libraryRoot: library.root, local }) : undefined;
    } catch (e) {
      await db.close();
      throw e;
    }
    const limits = queue ? { ...QUEUED_JOB_LIMITS, ...opts.jobLimits } : opts.jobLimits;
    const s = new Sfumato(library, repositories(db), opts.mode, queue?.launcher ?? local, limits, opts.signal, queue);
    const recovered = await s.runs.recover();
    if (queue) await s.reconcileQueue(recovered);
    return s;
  }

  /**
   * With a queue, training runs whose jobs were with workers when this server stopped (the list
   * `close` left, and runs recovered at this start) are resumed from their last checkpoint, into
   * the queue again. Sampling jobs are not: their callers are gone; the images already made are in
   * the gallery.
   */
  async reconcileQueue(recovered: string[]): Promise<void> {
    const file = this.library.abs(QUEUE_RUNS_FILE);
    let left: string[] = [];
    try {
      left = (JSON.parse(await fs.readFile(file, 'utf8')) as { runs?: string[] }).runs ?? [];
    } catch {
      /* none left */
    }
    await fs.rm(file, { force: true });
    for (const id of new Set([...left, ...recovered])) {
      const run = await this.store.runs.get(id);
      if (run?.status !== 'interrupted') continue;
      try {
        await this.runs.resume(id);
        console.error(`[sfumato] queue: run ${id} resumed from its last checkpoint (it was with a worker when the server stopped)`);
      } catch (e) {
        console.error(`[sfumato] queue: run ${id} could not be resumed: ${(e as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.queue) {
      const runs = this.jobs.list().flatMap((j) => (j.kind === 'train' && j.runId ? [j.runId] : []));
      if (runs.length) await writeFileAtomic(this.library.abs(QUEUE_RUNS_FILE), JSON.stringify({ runs }), { folder: this.library.root }).catch(() => undefined);
    }
    await this.jobs.shutdown();
    await this.queue?.close();
    // Background retries of run ends stop here (the next start's recovery records those runs);
    // one already writing is waited for.
    await this.runs.close();
    await this.store.db.close();
  }

  // Entry points with progress callbacks or a run's `done` (the CLI's long jobs and the tests);
  // the same services the contract calls.
  importDataset(req: ImportDatasetRequest, onProgress?: (p: JobProgress) => void, signal?: AbortSignal): Promise<ImportDatasetResult> {
    return this.datasets.import(req, onProgress, signal);
  }
  startRun(req: StartRunRequest): Promise<StartedRun> {
    return this.runs.start(req);
  }
  resumeRun(runId: string): Promise<StartedRun> {
    return this.runs.resume(runId);
  }
  generate(req: GenerateRequest, onProgress?: (p: JobProgress) => void): Promise<GenerateResult> {
    return this.sampling.generate(req, onProgress);
  }
  reproduce(sampleId: string, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    return this.reproduction.sample(sampleId, onProgress);
  }
  reproduceFile(file: string, onProgress?: (p: JobProgress) => void): Promise<ReproduceResult> {
    return this.reproduction.file(file, onProgress);
  }
  animateSample(...args: Parameters<ReproduceService['animate']>): ReturnType<ReproduceService['animate']> {
    return this.reproduction.animate(...args);
  }
  exportSamples(req: ExportRequest, onProgress?: (p: JobProgress) => void): Promise<ExportResult> {
    return this.gallery.export(req, onProgress);
  }

  private providers: Promise<ProvidersInfo> | undefined;

  /** The execution provider table (services/system.ts probeProviders), probed once per session. */
  systemProviders(): Promise<ProvidersInfo> {
    this.providers ??= probeProviders(this.launcher);
    this.providers.catch(() => (this.providers = undefined));
    return this.providers;
  }

  async systemInfo(): Promise<SystemInfo> {
    return {
      appVersion: APP_VERSION,
      mode: this.mode,
      libraryPath: this.library.root,
      demoDatasetDir: await demoDatasetDir(),
      versions: collectVersions(),
      backend: await probeBackends(),
      ...(this.queue ? { queue: { url: this.queue.url, workers: this.queue.workers() } } : {}),
    };
  }
}
