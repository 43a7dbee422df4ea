/**
 * The HTTP routes of a server with a job queue for its workers (`/api/worker/…`, jobs/queue-wire.ts
 * says what travels). They need the server's token or its worker token (`serve --worker-token`),
 * which grants these routes only and can be revoked (`POST /api/worker-token/revoke` with the
 * server's token). Bodies are capped: messages at 16 MiB, output files at the dispatcher's
 * maxUploadBytes (512 MiB by default).
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../api/errors';
import type { FromJob } from '../jobs/protocol';
import type { QueueDispatcher } from '../jobs/queue-dispatch';
import { decodeWire, encodeWire } from '../jobs/queue-wire';

const MAX_MESSAGE_BYTES = 16 << 20;

const FROM_JOB_TYPES = new Set<FromJob['type']>([
  'started',
  'train-progress',
  'checkpoint',
  'preview',
  'sample-progress',
  'sample',
  'export-progress',
  'export-done',
  'log',
  'estimate',
  'sample-preview',
  'frame',
  'done',
  'error',
]);

/**
 * A request body up to `limit` bytes. Past it: payload_too_large, answered as 413 by the caller;
 * what is left of the body is discarded by Node after the answer.
 */
function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => new ApiError('payload_too_large', `The upload is larger than this server takes (${limit} bytes).`, { limit });
    const refuse = () => {
      req.removeAllListeners('data');
      req.pause();
      reject(tooLarge());
    };
    if (Number.isFinite(declared) && declared > limit) return refuse();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        refuse();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (e) => reject(new ApiError('bad_request', `The upload was aborted (${e.message}).`)));
  });
}

function parse<T>(text: string, what: string): T {
  try {
    return decodeWire<T>(text);
  } catch {
    throw new ApiError('bad_request', `${what} is not valid JSON.`);
  }
}

function jobMessage(v: unknown): FromJob {
  if (!v || typeof v !== 'object' || !FROM_JOB_TYPES.has((v as { type: FromJob['type'] }).type)) throw new ApiError('bad_request', 'Not a job message: expected an object with a known `type`.');
  return v as FromJob;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v || v.length > 200) throw new ApiError('bad_request', `${field} must be a non-empty string.`, { field });
  return v;
}

function reply(res: ServerResponse, result: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const data = encodeWire({ ok: true, result });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store' });
  res.end(data);
}

export async function handleWorkerApi(q: QueueDispatcher | undefined, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  if (!q) throw new ApiError('not_found', 'This server has no job queue: start it with `sfumato serve --queue redis://HOST:PORT` to use workers.');
  const post = req.method === 'POST';
  if (path === '/api/worker/heartbeat' && post) {
    const w = parse<Record<string, unknown>>((await readRaw(req, MAX_MESSAGE_BYTES)).toString('utf8'), 'The heartbeat');
    const providers = Array.isArray(w.providers) ? w.providers.filter((p): p is string => typeof p === 'string').slice(0, 16) : [];
    const running = Array.isArray(w.running) ? w.running.filter((p): p is string => typeof p === 'string').slice(0, 256) : [];
    q.heartbeat({
      id: str(w.id, 'id'),
      host: str(w.host, 'host'),
      pid: Number(w.pid) || 0,
      providers,
      concurrency: Number(w.concurrency) || 1,
      running,
      load: Number(w.load) || 0,
    });
    return reply(res, {});
  }
  if (path === '/api/worker/claim' && post) {
    const b = parse<{ jobId?: unknown; workerId?: unknown }>((await readRaw(req, MAX_MESSAGE_BYTES)).toString('utf8'), 'The claim');
    return reply(res, await q.claim(str(b.jobId, 'jobId'), str(b.workerId, 'workerId')));
  }
  const blob = /^\/api\/worker\/blobs\/([0-9a-f]{64})$/.exec(path);
  if (blob && req.method === 'GET') {
    const abs = q.blob(blob[1]);
    const st = await fs.stat(abs).catch(() => undefined);
    if (!st?.isFile()) throw new ApiError('not_found', `Input ${blob[1]} is gone from the library.`);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
    await pipeline(createReadStream(abs, { start: 0, end: Math.max(0, st.size - 1) }), res).catch(() => res.destroy());
    return;
  }
  const m = /^\/api\/worker\/jobs\/([A-Za-z0-9_-]{1,200})\/(messages|output|exit|control)$/.exec(path);
  if (!m) throw new ApiError('not_found', `No worker endpoint ${req.method} ${path}.`);
  const [, jobId, what] = m;
  const lease = str(query.get('lease') ?? undefined, 'lease');
  if (what === 'control' && req.method === 'GET') return reply(res, q.control(jobId, lease));
  if (!post) throw new ApiError('bad_request', `Use POST for ${path}.`);
  if (what === 'messages') {
    const msg = jobMessage(parse((await readRaw(req, MAX_MESSAGE_BYTES)).toString('utf8'), 'The message'));
    return reply(res, await q.message(jobId, lease, msg));
  }
  if (what === 'output') {
    const header = req.headers['x-sfumato-message'];
    if (typeof header !== 'string') throw new ApiError('bad_request', 'An output upload needs its message in the x-sfumato-message header.');
    const msg = jobMessage(parse(Buffer.from(header, 'base64').toString('utf8'), 'The x-sfumato-message header'));
    const sha = req.headers['x-sfumato-sha256'];
    const body = await readRaw(req, q.maxUploadBytes);
    return reply(res, await q.message(jobId, lease, msg, body, typeof sha === 'string' ? sha : undefined));
  }
  const b = parse<{ code?: unknown; signal?: unknown }>((await readRaw(req, MAX_MESSAGE_BYTES)).toString('utf8'), 'The exit');
  return reply(res, q.exit(jobId, lease, typeof b.code === 'number' ? b.code : null, typeof b.signal === 'string' ? b.signal : null));
}
