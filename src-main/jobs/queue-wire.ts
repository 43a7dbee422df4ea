/**
 * What travels between a Sfumato server with a job queue and its workers (queue-dispatch.ts on
 * the server, queue-worker.ts on each worker). BullMQ on Redis carries only `{jobId, kind}`: the
 * job's spec, its inputs and its outputs go over the server's HTTP API, so the server stays the
 * only writer of the library and a worker never needs the library's paths or database.
 *
 * - claim: the worker asks the server for the job's spec. Input files (dataset cache, checkpoint,
 *   model) are replaced by content references (sha256); the worker fetches them by hash into a
 *   local cache. The claim hands out a lease: messages from an older lease (a worker presumed dead
 *   that comes back) are refused, so a job has one writer at a time.
 * - messages: the job process's own messages (protocol.ts), in order; a message that announces a
 *   file (checkpoint, preview, sample) carries the file's bytes, which the server checks (size cap,
 *   sha256, the exact folder and a plain name) and writes into the library before recording it.
 * - exit: how the job process ended; the server then settles the job.
 */
import type { FromJob, JobSpec, SampleJobSpec, TrainJobSpec } from './protocol';

/** BullMQ queue name: one queue for every kind of job (the job name says the kind). */
export const QUEUE_NAME = 'sfumato-jobs';

/** Largest output file a worker may upload (checkpoints of the largest configs stay far below). */
export const MAX_UPLOAD_BYTES = 512 << 20;

/** An input file by content: fetched from the server's /api/worker/blobs/<sha256>. */
export interface BlobRef {
  sha256: string;
  size: number;
  /** the extension the job looks at (`.onnx` vs `.sfwt`) */
  ext: string;
}

export type WireTrainSpec = Omit<TrainJobSpec, 'datasetCache' | 'checkpointDir' | 'previewDir' | 'init'> & {
  datasetCache: BlobRef;
  init?: Omit<NonNullable<TrainJobSpec['init']>, 'file'> & { file: BlobRef };
};
export type WireSampleSpec = Omit<SampleJobSpec, 'checkpointFile' | 'outDir'> & { checkpointFile: BlobRef };
export type WireSpec = WireTrainSpec | WireSampleSpec;

export interface ClaimReply {
  lease: string;
  spec: WireSpec;
  /** sampling: indices of images the server already recorded (a re-run makes only the others) */
  skip: number[];
}

/** What the server answers to every message: whether the job should stop or pause. */
export interface Control {
  cancel: boolean;
  pause: boolean;
  /** false once this lease is no longer the job's (the job was claimed again): stop at once */
  leaseValid: boolean;
}

export type { WorkerInfo } from '../api/types';

/** Jobs that run on workers when the server has a queue; the others (exports, grids, estimates, reproduce) stay local. */
export function runsOnWorkers(spec: JobSpec): spec is TrainJobSpec | SampleJobSpec {
  if (spec.kind === 'train') return !spec.estimateSteps;
  if (spec.kind === 'sample') return !spec.scratch && !spec.captureFrames;
  return false;
}

/** Messages that announce a file the server must receive with them. */
export function fileOf(msg: FromJob): string | undefined {
  if (msg.type === 'checkpoint' || msg.type === 'preview') return msg.file;
  if (msg.type === 'sample') return msg.record.file;
  return undefined;
}

// JSON with typed arrays (a sample's source image, animation frames): `{$t, b64}` objects.
export function encodeWire(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Float32Array) return { $t: 'f32', b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    if (x instanceof Uint8Array) return { $t: 'u8', b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    return x;
  });
}

export function decodeWire<T>(text: string): T {
  return JSON.parse(text, (_k, x: unknown) => {
    if (x && typeof x === 'object' && '$t' in x && 'b64' in x && typeof (x as { b64: unknown }).b64 === 'string') {
      const buf = Buffer.from((x as { b64: string }).b64, 'base64');
      const bytes = new Uint8Array(buf.byteLength);
      bytes.set(buf);
      if ((x as { $t: string }).$t === 'f32') return new Float32Array(bytes.buffer, 0, bytes.byteLength >> 2);
      return bytes;
    }
    return x;
  }) as T;
}

/** `redis://[user:password@]host:port[/db]` (rediss:// for TLS) as BullMQ/ioredis connection options. */
export function redisOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number; tls?: object } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue ${JSON.stringify(url)} is not a Redis URL: write it as redis://HOST:PORT (redis://:PASSWORD@HOST:PORT with a password).`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue ${JSON.stringify(url)}: the URL must start with redis:// (or rediss:// for TLS).`);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
