/**
 * The service layer's composition root: one object that the Electron IPC handlers, the web
 * server, the CLI and the tests all drive. It opens the library folder, the store and the job
 * manager, builds one service per concern (datasets, runs, sampling, reproduce, models, gallery)
 * and exposes the contract (`api`: every channel, its request validated first).
 */
import { EventEmitter } from 'node:events';
import type { Channel } from '../api/channels';
import type { Req, Res, SfumatoApi } from '../api/contract';
import type { GenerateRequest, GenerateResult, ImportDatasetRequest, ImportDatasetResult, JobProgress, ReproduceResult, StartRunRequest, SystemInfo, ExportRequest, ExportResult } from '../api/types';
import { Db } from '../store/db';
import { Library, resolveLibraryPath } from '../store/library';
import { repositories, type Store } from '../store/repositories';
import { forkLauncher, type JobLauncher } from '../jobs/launcher';
import { JobManager, type JobLimits } from '../jobs/manager';
import { demoDatasetDir } from './bundled';
import type { ServiceContext } from './context';
import { DatasetService } from './datasets';
import { ExportDownloads } from './downloads';
import { toApiError } from './errors';
import { GalleryService } from './gallery';
import { ModelService } from './models';
import { ReproduceService } from './reproduce';
import { RunService, type StartedRun } from './runs';
import { SamplingService } from './sampling';
import { APP_VERSION, collectVersions, probeBackends } from './system';
import { validateRequest } from './validate';

export { toApiError, validateOrigin } from './errors';
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
}

export class Sfumato implements ServiceContext {
  readonly events = new EventEmitter();
  readonly jobs: JobManager;
  /** web mode's export downloads under <library>/exports */
  readonly downloads: ExportDownloads;
  readonly datasets: DatasetService;
  readonly runs: RunService;
  readonly models: ModelService;
  readonly sampling: SamplingService;
  readonly reproduction: ReproduceService;
  readonly gallery: GalleryService;
  /** The contract, implemented: every function validates its request first. */
  readonly api: SfumatoApi;

  private constructor(
    readonly library: Library,
    readonly store: Store,
    readonly mode: SystemInfo['mode'],
    launcher: JobLauncher,
    jobLimits?: JobLimits,
    readonly signal?: AbortSignal,
  ) {
    this.jobs = new JobManager(launcher, jobLimits);
    this.downloads = new ExportDownloads(library);
    this.jobs.on('handler-error', (e: Error) => console.error('[sfumato] job message handler failed:', e));
    this.datasets = new DatasetService(this);
    this.runs = new RunService(this);
    this.models = new ModelService(this);
    this.sampling = new SamplingService(this, this.models);
    this.reproduction = new ReproduceService(this, this.sampling);
    this.gallery = new GalleryService(this, this.downloads);
    this.api = this.buildApi();
  }

  static async open(opts: OpenOptions): Promise<Sfumato> {
    const library = new Library(resolveLibraryPath(opts.libraryPath));
    const db = await Db.open(library.dbFile, { retryMs: opts.dbRetryMs });
    const s = new Sfumato(library, repositories(db), opts.mode, opts.launcher ?? forkLauncher, opts.jobLimits, opts.signal);
    await s.runs.recover();
    return s;
  }

  async close(): Promise<void> {
    await this.jobs.shutdown();
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

  // ------------------------------------------------------------ the contract

  private buildApi(): SfumatoApi {
    const impl: { [K in Channel]: (req: Req<K>) => Promise<Res<K>> } = {
      'system:info': () => this.systemInfo(),
      'datasets:import': (req) => this.datasets.import(req),
      'datasets:list': async () => ({ datasets: await this.datasets.list() }),
      'datasets:preview': (req) => this.datasets.preview(req),
      'datasets:get': async (req) => ({ dataset: await this.datasets.get(req.id) }),
      'datasets:remove': async (req) => ({ removed: await this.datasets.remove(req.id) }),
      'runs:start': async (req) => ({ run: (await this.runs.start(req)).run }),
      'runs:list': async (req) => ({ runs: await this.runs.list(req.datasetId) }),
      'runs:get': async (req) => ({ run: await this.runs.get(req.id) }),
      'runs:cancel': async (req) => ({ run: await this.runs.cancel(req.id) }),
      'runs:resume': async (req) => ({ run: (await this.runs.resume(req.id)).run }),
      'runs:pause': async (req) => ({ run: await this.runs.pause(req.id) }),
      'runs:estimate': (req) => this.runs.estimate(req),
      'models:list': () => this.models.list(),
      'models:import': async (req) => ({ model: await this.models.importOnnx(req) }),
      'checkpoints:list': async (req) => ({ checkpoints: await this.store.checkpoints.list(req.runId) }),
      'sample:generate': (req) => this.sampling.generate(req),
      'gallery:query': (req) => this.gallery.query(req),
      'gallery:get': async (req) => ({ sample: await this.gallery.get(req.id) }),
      'gallery:delete': async (req) => ({ deleted: await this.gallery.trash(req.ids) }),
      'gallery:restore': async (req) => ({ restored: await this.gallery.restore(req.ids) }),
      'gallery:emptyTrash': (req) => this.gallery.emptyTrash(req),
      'gallery:meta': async (req) => ({ meta: await this.gallery.meta(req.id) }),
      'gallery:update': (req) => this.gallery.update(req),
      'gallery:reproduce': (req) => this.reproduction.sample(req.id),
      'gallery:export': (req) => this.gallery.export(req),
      'jobs:list': async () => ({ jobs: this.jobs.list() }),
      'jobs:cancel': async (req) => {
        const job = this.jobs.get(req.id);
        if (!job) return { cancelled: false };
        job.cancel();
        return { cancelled: true };
      },
    };
    const api = {} as Record<Channel, (req: unknown) => Promise<unknown>>;
    for (const ch of Object.keys(impl) as Channel[]) {
      const fn = impl[ch] as (req: unknown) => Promise<unknown>;
      api[ch] = async (req: unknown) => {
        const valid = validateRequest(ch, req);
        try {
          return await fn(valid);
        } catch (e) {
          throw toApiError(e);
        }
      };
    }
    return api as unknown as SfumatoApi;
  }
}
