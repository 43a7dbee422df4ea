/**
 * A Sfumato worker (`sfumato worker --server URL --token T --queue redis://…`): takes training and
 * sampling jobs from the server's BullMQ queue and runs each in a job process of its own with the
 * existing job code (job-process.ts, train-job.ts, sample-job.ts), unchanged. What differs from a
 * local job is only where files come from and go to:
 * - inputs (dataset cache, checkpoint, model) are fetched from the server by sha256 into a local
 *   cache (`<cache>/blobs/<sha256><ext>`, checked after download; a cached file is reused);
 * - the job writes into a private work folder; every file it announces is uploaded with its
 *   message (the server checks and records it) and then removed here;
 * - every message goes to the server in order; the answer says whether to cancel or pause, and
 *   whether this worker still holds the job (a worker presumed lost stops at once).
 * A worker that dies mid-job is noticed by BullMQ (the job's lock expires; the stalled-job check on
 * another worker queues it again) and the server hands the job to the next worker with a resume
 * point (see queue-dispatch.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Worker, type Job } from 'bullmq';
import { ApiError } from '../api/errors';
import type { OrtProviderChoice } from '../api/types';
import { forkLauncher, type JobLauncher } from './launcher';
import type { FromJob, SampleJobSpec, TrainJobSpec } from './protocol';
import { decodeWire, encodeWire, fileOf, QUEUE_NAME, redactRedisUrl, redisOptions, type BlobRef, type ClaimReply, type Control, type WireSpec } from './queue-wire';

export interface QueueWorkerOptions {
  /** the Sfumato server, e.g. http://192.168.1.20:4780 */
  server: string;
  /** the server's token or its worker token */
  token: string;
  /** redis://[user:password@]host:port */
  queue: string;
  /** jobs run at once (default 1) */
  concurrency?: number;
  /** local cache of inputs and work folders */
  cacheDir: string;
  /** ONNX Runtime execution provider for sampling (default: the job's, else probed) */
  provider?: OrtProviderChoice;
  /** ONNX Runtime threads per sampling job (default: one per physical core) */
  threads?: number;
  /** what this worker advertises (execution providers, training backends) */
  providers?: string[];
  /** worker id (default: host-pid-random) */
  id?: string;
  /**
   * BullMQ lock duration in ms (default 30 s): a worker silent this long is presumed dead and its
   * job queued again; the stalled-job check runs at the same interval.
   */
  lockMs?: number;
  launcher?: JobLauncher;
  log?: (message: string) => void;
}

export interface QueueWorker {
  readonly id: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const HEARTBEAT_MS = 5000;
const CONTROL_POLL_MS = 1000;

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const id = opts.id ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const log = opts.log ?? ((m: string) => process.stderr.write(`[sfumato worker ${id}] ${m}\n`));
  const base = opts.server.replace(/\/+$/, '');
  const launcher = opts.launcher ?? forkLauncher;
  const running = new Set<string>();
  const blobsDir = join(opts.cacheDir, 'blobs');
  await fs.mkdir(blobsDir, { recursive: true });

  const api = async <T>(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${opts.token}`, ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
        body,
        signal: AbortSignal.timeout(120_000),
      });
    } catch (e) {
      throw new HttpError(0, 'unavailable', `The server ${base} cannot be reached (${(e as Error).message}).`);
    }
    const text = await res.text();
    let parsed: { ok?: boolean; result?: unknown; error?: { code: string; message: string } } = {};
    try {
      parsed = text ? decodeWire(text) : {};
    } catch {
      /* not JSON */
    }
    if (!res.ok || parsed.ok === false) throw new HttpError(res.status, parsed.error?.code ?? 'internal', parsed.error?.message ?? `${res.status} ${text.slice(0, 200)}`);
    return parsed.result as T;
  };
  /** Retries what may be a passing network or server hiccup (never a refusal). */
  const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof HttpError) || (e.status !== 0 && e.status < 500) || attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  };

  const heartbeat = () =>
    api('POST', '/api/worker/heartbeat', encodeWire({ id, host: hostname(), pid: process.pid, providers: opts.providers ?? [], concurrency: opts.concurrency ?? 1, running: [...running], load: loadavg()[0] }));
  // The token and the server are checked before any job is taken: a wrong one is a clear error now.
  try {
    await heartbeat();
  } catch (e) {
    const h = e as HttpError;
    throw new ApiError(h.status === 401 ? 'unauthorized' : 'unavailable', h.status === 401 ? `The server ${base} refused the token: pass the token \`sfumato serve\` printed, or its --worker-token.` : `${h.message} Check --server and that \`sfumato serve --queue …\` runs there.`);
  }

  /** An input file by hash: from the cache, else downloaded and checked. */
  const fetchBlob = async (ref: BlobRef): Promise<string> => {
    const file = join(blobsDir, `${ref.sha256}${ref.ext}`);
    const st = await fs.stat(file).catch(() => undefined);
    if (st?.isFile() && st.size === ref.size) return file;
    const res = await fetch(`${base}/api/worker/blobs/${ref.sha256}`, { headers: { authorization: `Bearer ${opts.token}` }, signal: AbortSignal.timeout(600_000) });
    if (!res.ok || !res.body) throw new HttpError(res.status, 'not_found', `Input ${ref.sha256} could not be fetched from ${base} (${res.status}).`);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.part`;
    const hash = createHash('sha256');
    const body = Readable.fromWeb(res.body as never);
    body.on('data', (c: Buffer) => hash.update(c));
    try {
      await pipeline(body, createWriteStream(tmp));
      const got = hash.digest('hex');
      if (got !== ref.sha256) throw new Error(`Input ${ref.sha256} arrived damaged (sha256 ${got}); the job will be retried.`);
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    return file;
  };

  const processJob = async (job: Job<{ jobId: string }>): Promise<string> => {
    const jobId = job.data.jobId;
    let claim: ClaimReply;
    try {
      claim = await retrying(() => api<ClaimReply>('POST', '/api/worker/claim', encodeWire({ jobId, workerId: id })));
    } catch (e) {
      // The server no longer has the job (cancelled, ended, restarted): nothing to run.
      if (e instanceof HttpError && e.status === 404) {
        log(`job ${jobId} dropped: ${e.message}`);
        return 'dropped';
      }
      throw e;
    }
    const { lease } = claim;
    const q = `lease=${lease}`;
    const work = join(opts.cacheDir, 'work', `${jobId}-${lease.slice(0, 8)}`);
    running.add(jobId);
    log(`job ${jobId} (${claim.spec.kind}) started${claim.skip.length ? `, ${claim.skip.length} image(s) already recorded` : ''}`);
    try {
      const { spec, indexOf, kept, all } = await localSpec(claim.spec, claim.skip, work, fetchBlob, opts.provider, opts.threads);
      await fs.mkdir(work, { recursive: true });
      /** image indices and progress in the job's terms (a re-run makes only some of its images) */
      const relabel = (msg: FromJob): FromJob => {
        if (msg.type === 'sample') return { ...msg, index: indexOf(msg.index) };
        if (msg.type === 'sample-preview') return { ...msg, image: indexOf(msg.image) };
        if (msg.type === 'sample-progress' && kept > 0 && kept < all) {
          const per = msg.total / kept;
          return { ...msg, done: msg.done + (all - kept) * per, total: all * per };
        }
        return msg;
      };
      const proc = launcher();
      let lost = false;
      let cancelSent = false;
      let pauseSent = false;
      let failure: unknown;
      const obey = (c: Control) => {
        if (!c.leaseValid) {
          if (!lost) log(`job ${jobId} is no longer ours; stopping it`);
          lost = true;
          proc.kill('SIGKILL');
          return;
        }
        if (c.cancel && !cancelSent) {
          cancelSent = true;
          proc.send({ type: 'cancel' });
        }
        if (c.pause && !pauseSent) {
          pauseSent = true;
          proc.send({ type: 'pause' });
        }
      };
      const post = async (msg: FromJob) => {
        if (lost) return;
        const rel = fileOf(msg);
        const out = relabel(msg);
        try {
          let control: Control;
          if (rel !== undefined) {
            const abs = join(work, rel);
            const bytes = await fs.readFile(abs);
            const sha = createHash('sha256').update(bytes).digest('hex');
            control = await retrying(() =>
              api<Control>('POST', `/api/worker/jobs/${jobId}/output?${q}`, bytes, {
                'content-type': 'application/octet-stream',
                'x-sfumato-message': Buffer.from(encodeWire(out)).toString('base64'),
                'x-sfumato-sha256': sha,
              }),
            );
            await fs.rm(abs, { force: true });
          } else {
            control = await retrying(() => api<Control>('POST', `/api/worker/jobs/${jobId}/messages?${q}`, encodeWire(out)));
          }
          obey(control);
        } catch (e) {
          if (e instanceof HttpError && (e.status === 404 || e.status === 409)) obey({ cancel: true, pause: false, leaseValid: false });
          else {
            failure ??= e;
            proc.kill('SIGKILL');
          }
        }
      };
      let chain: Promise<void> = Promise.resolve();
      proc.onMessage((msg) => {
        chain = chain.then(() => post(msg));
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.onExit((code, signal) => r({ code, signal })));
      const poll = setInterval(() => {
        void api<Control>('GET', `/api/worker/jobs/${jobId}/control?${q}`).then(obey, () => undefined);
      }, CONTROL_POLL_MS);
      proc.send({ type: 'start', spec });
      const end = await exited;
      clearInterval(poll);
      await chain;
      if (failure) throw failure;
      if (!lost) await retrying(() => api('POST', `/api/worker/jobs/${jobId}/exit?${q}`, encodeWire(end))).catch(() => undefined);
      log(`job ${jobId} ended${lost ? ' (handed to another worker)' : ''}`);
      return lost ? 'lost' : 'done';
    } finally {
      running.delete(jobId);
      await fs.rm(work, { recursive: true, force: true });
    }
  };

  let gaveUp = false;
  const connection = { ...redisOptions(opts.queue), maxRetriesPerRequest: null, retryStrategy: (times: number) => (gaveUp ? null : Math.min(times * 200, 2000)) };
  const errors = new Set<string>();
  const worker = new Worker(QUEUE_NAME, processJob, {
    connection,
    concurrency: opts.concurrency ?? 1,
    lockDuration: opts.lockMs ?? 30_000,
    stalledInterval: opts.lockMs ?? 30_000,
    maxStalledCount: 3,
  });
  worker.on('error', (e) => {
    if (errors.has(e.message)) return;
    errors.add(e.message);
    log(`Redis at ${redactRedisUrl(opts.queue)}: ${e.message}`);
  });
  worker.on('failed', (job, e) => log(`job ${job?.data.jobId ?? '?'} failed: ${e.message}`));
  const ready = await Promise.race([worker.waitUntilReady().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5000))]);
  if (!ready) {
    gaveUp = true;
    await Promise.race([worker.close(true).catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
    throw new ApiError('unavailable', `Cannot reach Redis at ${redactRedisUrl(opts.queue)} (${[...errors].join('; ') || 'no answer'}): start it, or fix --queue.`);
  }
  const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_MS);
  beat.unref();
  log(`ready: server ${base}, queue ${redactRedisUrl(opts.queue)}, concurrency ${opts.concurrency ?? 1}`);
  return {
    id,
    close: async () => {
      clearInterval(beat);
      await worker.close();
    },
  };
}

/**
 * The job's spec on this machine: inputs from the cache, outputs into the work folder, and for a
 * sampling job claimed again only the images not yet recorded (`indexOf` maps the job process's
 * image index back to the job's).
 */
async function localSpec(
  w: WireSpec,
  skip: number[],
  work: string,
  fetchBlob: (ref: BlobRef) => Promise<string>,
  provider: OrtProviderChoice | undefined,
  threads: number | undefined,
): Promise<{ spec: TrainJobSpec | SampleJobSpec; indexOf: (i: number) => number; kept: number; all: number }> {
  if (w.kind === 'train') {
    const spec: TrainJobSpec = {
      ...w,
      datasetCache: await fetchBlob(w.datasetCache),
      checkpointDir: join(work, w.checkpointDirRel),
      previewDir: join(work, w.previewDirRel),
      init: w.init ? { ...w.init, file: await fetchBlob(w.init.file) } : undefined,
    };
    return { spec, indexOf: (i) => i, kept: 0, all: 0 };
  }
  const skipped = new Set(skip);
  const keep = w.seeds.map((_, i) => i).filter((i) => !skipped.has(i));
  const pick = <T>(a: T[] | undefined): T[] | undefined => a && keep.map((i) => a[i]);
  const spec: SampleJobSpec = {
    ...w,
    checkpointFile: await fetchBlob(w.checkpointFile),
    outDir: join(work, w.outDirRel),
    seeds: pick(w.seeds)!,
    names: pick(w.names)!,
    origins: pick(w.origins),
    grids: pick(w.grids),
    ...(provider ? { provider } : {}),
    ...(threads ? { threads } : {}),
  };
  return { spec, indexOf: (i) => keep[i], kept: keep.length, all: w.seeds.length };
}
