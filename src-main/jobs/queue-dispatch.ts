/**
 * The server's side of the job queue (`sfumato serve --queue redis://…`): a JobLauncher whose
 * training and sampling jobs go into a BullMQ queue on Redis instead of a local process, and the
 * bookkeeping the HTTP routes for workers call (claim, messages with their files, exit, blobs,
 * heartbeats). See queue-wire.ts for what travels.
 *
 * Why BullMQ: it is the Node ecosystem's job engine on Redis (retries, stalled-job detection,
 * events), so a worker that dies mid-job is noticed by the queue itself (its lock expires and the
 * stalled-job check puts the job back) instead of by a home-made failure detector.
 *
 * The JobManager does not know: to it a queued job is a JobProcess like a forked one (same
 * messages, same exit), so the services record progress, checkpoints and samples exactly as they
 * do for local jobs; this module only adds what a second machine needs:
 * - inputs by content hash (only files of jobs this server handed out are served);
 * - outputs checked before they touch the library: the lease, a size cap, the sha256, and the
 *   exact folder and a plain file name the job's spec allows; then written atomically;
 * - nothing doubled: a sampling image has the key (job id, index) and is recorded once, and a job
 *   claimed again (its worker died) skips the images already recorded; a training job claimed
 *   again resumes from the last checkpoint recorded here (the exact-resume guarantee: same losses,
 *   same weights as if it had never stopped);
 * - Redis unreachable: a clear error within seconds, never a job waiting silently.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { ApiError } from '../api/errors';
import { writeFileAtomic } from '../db/files';
import type { JobLauncher, JobProcess } from './launcher';
import type { FromJob, SampleJobSpec, ToJob, TrainJobSpec } from './protocol';
import { fileOf, MAX_UPLOAD_BYTES, QUEUE_NAME, redactRedisUrl, redisOptions, runsOnWorkers, type BlobRef, type ClaimReply, type Control, type WireSpec, type WorkerInfo } from './queue-wire';

export interface QueueDispatcherOptions {
  /** redis://[user:password@]host:port */
  url: string;
  libraryRoot: string;
  /** launcher for the jobs that stay on this machine (exports, grids, estimates, reproduce) */
  local: JobLauncher;
  /** how long opening the queue or adding a job may wait for Redis (default 5 s) */
  redisTimeoutMs?: number;
  log?: (message: string) => void;
  /** largest output file a worker may upload (default MAX_UPLOAD_BYTES, 512 MiB) */
  maxUploadBytes?: number;
  /** called before a worker's message is checked and recorded (tests stop a worker at an exact point) */
  beforeRecord?: (jobId: string, msg: FromJob) => void | Promise<void>;
}

/** A worker not heard from for this long is no longer listed. */
const WORKER_TTL_MS = 30_000;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

function withTimeout<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ApiError('unavailable', message())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** One job handed to the queue, as the JobManager's JobProcess sees it. */
class RemoteJob {
  lease: string | undefined;
  worker: string | undefined;
  cancel = false;
  pause = false;
  exited = false;
  readonly queuedAt = Date.now();
  /** sampling: image indices recorded (the idempotency keys are (job id, index)) */
  readonly delivered = new Set<number>();
  /** training: the last checkpoint recorded, where a re-claimed job resumes */
  lastCheckpoint: { file: string; step: number } | undefined;
  private readonly msgCbs: ((m: FromJob) => void)[] = [];
  private readonly exitCbs: ((code: number | null, signal: string | null) => void)[] = [];

  constructor(
    readonly id: string,
    public spec: TrainJobSpec | SampleJobSpec,
  ) {}

  onMessage(cb: (m: FromJob) => void): void {
    this.msgCbs.push(cb);
  }
  onExit(cb: (code: number | null, signal: string | null) => void): void {
    this.exitCbs.push(cb);
  }
  deliver(m: FromJob): void {
    if (this.exited) return;
    for (const cb of this.msgCbs) cb(m);
  }
  exit(code: number | null, signal: string | null): void {
    if (this.exited) return;
    this.exited = true;
    for (const cb of this.exitCbs) cb(code, signal);
  }
  control(lease?: string): Control {
    return { cancel: this.cancel || this.exited, pause: this.pause, leaseValid: !this.exited && (lease === undefined || lease === this.lease) };
  }
}

export class QueueDispatcher {
  readonly launcher: JobLauncher;
  /** every claim, in order: which worker took which job, when (ms since epoch), and when it was queued */
  readonly claims: { jobId: string; worker: string; at: number; queuedAt: number }[] = [];
  private readonly jobs = new Map<string, RemoteJob>();
  /** sha256 → absolute path: the input files of jobs handed out (nothing else is served) */
  private readonly blobs = new Map<string, string>();
  private readonly hashCache = new Map<string, string>();
  private readonly seen = new Map<string, WorkerInfo>();
  private readonly timeoutMs: number;
  private readonly log: (m: string) => void;
  private readonly root: string;

  private constructor(
    private readonly opts: QueueDispatcherOptions,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    this.timeoutMs = opts.redisTimeoutMs ?? 5000;
    this.log = opts.log ?? ((m) => console.error(`[sfumato] ${m}`));
    this.root = resolve(opts.libraryRoot);
    this.launcher = () => this.process();
    // A job BullMQ gave up on (stalled more often than allowed, or its worker reported a failure
    // before it could post an exit): settle it as a lost job process.
    this.events.on('failed', ({ jobId, failedReason }) => {
      const j = this.jobs.get(jobId);
      if (!j || j.exited) return;
      j.deliver({ type: 'log', message: `the queue gave up on this job: ${failedReason}` });
      this.finish(j, null, 'SIGKILL');
    });
  }

  /** Connects to Redis (within the timeout, else a clear error) and opens the queue. */
  static async open(opts: QueueDispatcherOptions): Promise<QueueDispatcher> {
    // ioredis reconnects forever by default; once opening has failed, it must stop (or the
    // process would stay alive on its sockets after the error was reported)
    let gaveUp = false;
    const connection = { ...redisOptions(opts.url), connectTimeout: opts.redisTimeoutMs ?? 5000, retryStrategy: (times: number) => (gaveUp ? null : Math.min(times * 200, 2000)) };
    const queue = new Queue(QUEUE_NAME, { connection });
    const events = new QueueEvents(QUEUE_NAME, { connection });
    const errors = new Set<string>();
    const onError = (e: Error) => {
      // ioredis retries by itself; say each distinct failure once instead of every retry
      if (errors.has(e.message)) return;
      errors.add(e.message);
      console.error(`[sfumato] queue: Redis at ${redactRedisUrl(opts.url)}: ${e.message}`);
    };
    queue.on('error', onError);
    events.on('error', onError);
    try {
      await withTimeout(
        (async () => {
          await queue.waitUntilReady();
          await queue.getJobCounts('waiting');
          await events.waitUntilReady();
        })(),
        opts.redisTimeoutMs ?? 5000,
        () =>
          `Cannot reach Redis at ${redactRedisUrl(opts.url)} (${[...errors].join('; ') || 'no answer'}). Start it (for example \`redis-server --port 6379 --bind 127.0.0.1\`) or fix --queue / SFUMATO_QUEUE.`,
      );
    } catch (e) {
      gaveUp = true;
      // BullMQ's close waits for a connection that never comes: bounded, then left to ioredis.
      await Promise.race([Promise.allSettled([queue.close(), events.close()]), new Promise((r) => setTimeout(r, 500).unref())]);
      throw e;
    }
    return new QueueDispatcher(opts, queue, events);
  }

  async close(): Promise<void> {
    for (const j of this.jobs.values()) this.stop(j, 'SIGTERM');
    await Promise.allSettled([withTimeout(this.queue.close(), 2000, () => 'close'), withTimeout(this.events.close(), 2000, () => 'close')]);
    await Promise.allSettled([this.queue.disconnect(), this.events.disconnect()]);
  }

  /** A JobProcess for the manager: remote for training and sampling, the local launcher otherwise. */
  private process(): JobProcess {
    let local: JobProcess | undefined;
    let remote: RemoteJob | undefined;
    const msgCbs: ((m: FromJob) => void)[] = [];
    const exitCbs: ((code: number | null, signal: string | null) => void)[] = [];
    return {
      // a remote job lives as long as this server does: its pid is the server's (so another
      // process's startup recovery leaves the run alone), a local one its own process's
      get pid() {
        return local?.pid ?? (remote ? process.pid : undefined);
      },
      send: (msg: ToJob) => {
        if (msg.type === 'start' && !local && !remote) {
          if (runsOnWorkers(msg.spec)) {
            const id = msg.spec.kind === 'train' ? `train-${msg.spec.runId}-${randomBytes(4).toString('hex')}` : msg.spec.jobId;
            remote = new RemoteJob(id, msg.spec);
            for (const cb of msgCbs) remote.onMessage(cb);
            for (const cb of exitCbs) remote.onExit(cb);
            void this.enqueue(remote);
          } else {
            local = this.opts.local();
            for (const cb of msgCbs) local.onMessage(cb);
            for (const cb of exitCbs) local.onExit(cb);
            local.send(msg);
          }
        } else if (local) local.send(msg);
        else if (remote) {
          if (msg.type === 'cancel') this.stop(remote, null);
          else if (msg.type === 'pause') remote.pause = true;
        }
      },
      onMessage: (cb) => {
        msgCbs.push(cb);
        local?.onMessage(cb);
        remote?.onMessage(cb);
      },
      onExit: (cb) => {
        exitCbs.push(cb);
        local?.onExit(cb);
        remote?.onExit(cb);
      },
      kill: (signal = 'SIGTERM') => {
        local?.kill(signal);
        if (remote) this.stop(remote, signal);
      },
    };
  }

  private async enqueue(j: RemoteJob): Promise<void> {
    this.jobs.set(j.id, j);
    try {
      await withTimeout(
        this.queue.add(j.spec.kind, { jobId: j.id, kind: j.spec.kind }, { jobId: j.id, removeOnComplete: true, removeOnFail: 1000 }),
        this.timeoutMs,
        () => `Redis at ${redactRedisUrl(this.opts.url)} did not take the job within ${this.timeoutMs / 1000} s: is redis-server running? Start it, then start the job again.`,
      );
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('unavailable', `The job could not be queued in Redis at ${redactRedisUrl(this.opts.url)}: ${(e as Error).message}`);
      j.deliver({ type: 'error', error: err.toJSON() });
      this.finish(j, 1, null);
    }
  }

  /**
   * Cancel (signal null), or the manager's kill: the job leaves the queue if no worker holds it,
   * and a worker holding it sees `cancel` at its next message or control poll. SIGTERM (the server
   * closing) and SIGKILL (a cancel that was not honoured in time) settle the job at once, so
   * closing the server never waits on a machine that may be gone.
   */
  private stop(j: RemoteJob, signal: NodeJS.Signals | null): void {
    j.cancel = true;
    const removed = this.queue.remove(j.id).catch(() => 0);
    if (signal === 'SIGTERM' || signal === 'SIGKILL') this.finish(j, null, signal);
    else if (!j.lease) void removed.then((n) => (n ? this.finish(j, null, null) : undefined));
  }

  private finish(j: RemoteJob, code: number | null, signal: string | null): void {
    j.exit(code, signal);
    this.jobs.delete(j.id);
  }

  private leased(jobId: string, lease: string): RemoteJob {
    const j = this.jobs.get(jobId);
    if (!j || j.exited) throw new ApiError('not_found', `Job ${jobId} is not running on this server any more (it ended, was cancelled, or the server restarted): drop it.`);
    if (j.lease !== lease) throw new ApiError('conflict', `Job ${jobId} was handed to another worker (this worker was presumed lost): stop it and drop its outputs.`);
    return j;
  }

  /** A worker takes a job: its spec with inputs by hash, a fresh lease, and what is already recorded. */
  async claim(jobId: string, workerId: string): Promise<ClaimReply> {
    const j = this.jobs.get(jobId);
    if (!j || j.exited) throw new ApiError('not_found', `No job ${jobId} on this server (it ended, was cancelled, or the server restarted).`);
    if (j.cancel) {
      this.finish(j, null, null);
      throw new ApiError('not_found', `Job ${jobId} was cancelled.`);
    }
    if (j.lease) {
      // Claimed before: its worker was lost and BullMQ's stalled-job check queued it again.
      let message = `worker ${j.worker} was lost; the job continues on worker ${workerId}`;
      if (j.spec.kind === 'train' && j.lastCheckpoint) {
        j.spec = { ...j.spec, init: { file: this.abs(j.lastCheckpoint.file), mode: 'resume', preferEma: false, keepOptimizer: true } };
        message += ` from its checkpoint at step ${j.lastCheckpoint.step}`;
      } else if (j.spec.kind === 'sample') message += ` (${j.delivered.size} of ${j.spec.seeds.length} images were already recorded)`;
      j.deliver({ type: 'log', message });
    }
    j.lease = randomBytes(16).toString('hex');
    j.worker = workerId;
    this.claims.push({ jobId, worker: workerId, at: Date.now(), queuedAt: j.queuedAt });
    return { lease: j.lease, spec: await this.toWire(j.spec), skip: [...j.delivered].sort((a, b) => a - b) };
  }

  /**
   * A message of the job process on the worker, in order; `body` is the file it announces. The
   * file is checked and written before the message reaches the services, which record it.
   */
  async message(jobId: string, lease: string, msg: FromJob, body?: Buffer, bodySha256?: string): Promise<Control> {
    this.leased(jobId, lease);
    await this.opts.beforeRecord?.(jobId, msg);
    const j = this.leased(jobId, lease);
    const file = fileOf(msg);
    if (file !== undefined) {
      if (!body) throw new ApiError('bad_request', `Message ${msg.type} announces ${file} but carries no file.`);
      if (msg.type === 'sample') {
        if (j.spec.kind !== 'sample' || !Number.isInteger(msg.index) || msg.index < 0 || msg.index >= j.spec.names.length || msg.record.id !== j.spec.names[msg.index]) {
          throw new ApiError('bad_request', `Sample ${msg.record.id} (index ${msg.index}) is not an image of job ${jobId}.`);
        }
        // Idempotency key (job id, index): an image recorded once is never recorded again.
        if (j.delivered.has(msg.index)) return j.control(lease);
      }
      // a checkpoint sent again (the worker retried after a lost answer) is recorded once
      if (msg.type === 'checkpoint' && j.lastCheckpoint && msg.step <= j.lastCheckpoint.step) return j.control(lease);
      const dir = msg.type === 'checkpoint' && j.spec.kind === 'train' ? j.spec.checkpointDirRel : msg.type === 'preview' && j.spec.kind === 'train' ? j.spec.previewDirRel : msg.type === 'sample' && j.spec.kind === 'sample' ? j.spec.outDirRel : undefined;
      const name = dir !== undefined && file.startsWith(dir + '/') ? file.slice(dir.length + 1) : '';
      const ext = msg.type === 'checkpoint' ? '.sfwt' : '.png';
      if (!SAFE_NAME.test(name) || extname(name) !== ext) throw new ApiError('bad_request', `Refused output ${JSON.stringify(file)}: job ${jobId} writes only ${ext} files with plain names in ${dir ?? 'its own folder'}.`);
      if (body.byteLength > this.maxUploadBytes) throw new ApiError('payload_too_large', `Output ${file} is larger than ${this.maxUploadBytes} bytes.`);
      const sha = createHash('sha256').update(body).digest('hex');
      const expected = msg.type === 'checkpoint' ? msg.sha256 : bodySha256;
      if (!expected || sha !== expected) throw new ApiError('bad_request', `Output ${file} arrived damaged: its sha256 is ${sha}, the worker sent ${expected ?? 'none'}. The worker retries the job.`);
      await writeFileAtomic(this.abs(file), body, { folder: this.root });
      if (msg.type === 'sample') j.delivered.add(msg.index);
      if (msg.type === 'checkpoint') j.lastCheckpoint = { file, step: msg.step };
    }
    j.deliver(msg);
    return j.control(lease);
  }

  /** The worker's job process ended (after its last message). */
  exit(jobId: string, lease: string, code: number | null, signal: string | null): Control {
    const j = this.leased(jobId, lease);
    this.finish(j, code, signal);
    return { cancel: true, pause: false, leaseValid: false };
  }

  control(jobId: string, lease: string): Control {
    const j = this.jobs.get(jobId);
    if (!j) return { cancel: true, pause: false, leaseValid: false };
    return j.control(lease);
  }

  /** Absolute path of an input file handed out with a job, by its sha256. */
  blob(sha256: string): string {
    const abs = /^[0-9a-f]{64}$/.test(sha256) ? this.blobs.get(sha256) : undefined;
    if (!abs) throw new ApiError('not_found', `No input file ${sha256} on this server (only inputs of jobs handed out are served).`);
    return abs;
  }

  heartbeat(info: Omit<WorkerInfo, 'lastSeen'>): void {
    this.seen.set(info.id, { ...info, lastSeen: new Date().toISOString() });
  }

  /** Workers heard from in the last 30 s. */
  workers(): WorkerInfo[] {
    const now = Date.now();
    return [...this.seen.values()].filter((w) => now - Date.parse(w.lastSeen) < WORKER_TTL_MS).sort((a, b) => a.id.localeCompare(b.id));
  }

  get maxUploadBytes(): number {
    return this.opts.maxUploadBytes ?? MAX_UPLOAD_BYTES;
  }

  get url(): string {
    return redactRedisUrl(this.opts.url);
  }

  /** Counts of the BullMQ queue (waiting, active, …), for the System page and the bench. */
  async counts(): Promise<Record<string, number>> {
    return withTimeout(this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed'), this.timeoutMs, () => `Redis at ${this.url} did not answer`);
  }

  private abs(rel: string): string {
    const p = resolve(this.root, rel);
    if (!p.startsWith(this.root + sep)) throw new ApiError('bad_request', `Path ${JSON.stringify(rel)} points outside the library.`);
    return p;
  }

  private async ref(abs: string): Promise<BlobRef> {
    const st = await fs.stat(abs);
    const key = `${abs}\0${st.size}\0${st.mtimeMs}`;
    let sha = this.hashCache.get(key);
    if (!sha) {
      const h = createHash('sha256');
      for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
      sha = h.digest('hex');
      this.hashCache.set(key, sha);
    }
    this.blobs.set(sha, abs);
    return { sha256: sha, size: st.size, ext: extname(abs) };
  }

  private async toWire(spec: TrainJobSpec | SampleJobSpec): Promise<WireSpec> {
    if (spec.kind === 'train') {
      const { datasetCache, checkpointDir: _c, previewDir: _p, init, ...rest } = spec;
      return { ...rest, datasetCache: await this.ref(datasetCache), ...(init ? { init: { ...init, file: await this.ref(init.file) } } : {}) };
    }
    const { checkpointFile, outDir: _o, ...rest } = spec;
    return { ...rest, checkpointFile: await this.ref(checkpointFile) };
  }
}
