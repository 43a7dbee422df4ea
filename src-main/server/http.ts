/**
 * Web mode: the built renderer and the Sfumato contract over HTTP + WebSocket.
 *
 * - `POST /api/<domain>/<action>` with a JSON body calls channel `<domain>:<action>` (the routes
 *   are derived from ALL_CHANNELS, so every channel is reachable, `gallery:emptyTrash` included);
 *   the reply is `{ok: true, result}` or `{ok: false, error: {code, message, details}}`.
 * - `GET /api/files/<library-relative path>` serves images and JSON from the library.
 * - `GET /api/exports/<id>/<name>` (token required, not the files cookie) downloads an export made
 *   with `download: true` as an attachment; only the one file that export registered is served
 *   (services/downloads.ts), and its folder is removed once it was sent completely.
 * - `GET /api/events` upgrades to a WebSocket that pushes `{event, payload}` messages.
 * - `POST /api/session` (token required) sets the cookie that lets `<img src>` load library files.
 *
 * Authentication. Every /api/ request and the upgrade need the token; static assets are public.
 * - The API: `Authorization: Bearer <token>`.
 * - The WebSocket: the browser's WebSocket API cannot set headers, so the client offers the
 *   subprotocols `sfumato` and `sfumato.token.<token>` (the `Sec-WebSocket-Protocol` header); the
 *   server answers with `sfumato` only, so the token is never echoed.
 * - Library files (`<img src>` cannot set headers either): an HttpOnly, SameSite=Strict cookie
 *   scoped to /api/files/ that holds a separate random key (not the token), handed out by an
 *   authenticated `POST /api/session`. It only grants GET/HEAD of library files.
 * - `?token=` in the query string is accepted only when the server is bound to a loopback
 *   address. On any other host it is refused, because URLs end up in logs, proxies and history;
 *   the printed URL then carries the token in the fragment (`/#token=`), which browsers never send.
 *
 * Requests are refused when their Host is not this server (DNS rebinding: 421) or when they carry
 * a foreign Origin (cross-site requests and WebSocket hijacking: 403).
 *
 * Robustness: no request of any shape may take the server down. Every callback catches its own
 * errors, malformed URLs and percent escapes answer 400, bodies over the limit answer 413 (the
 * rest of the body is read and discarded, so the client sees the answer), files are served from
 * an opened handle with stream.pipeline (a file that vanishes is a 404, a read error ends that one
 * response) and the handle is closed on every path, aborted requests included.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { ALL_CHANNELS, channelPath, type Channel } from '../api/channels';
import { ApiError, HTTP_STATUS, toApiError } from '../api/errors';
import type { JobProgress } from '../api/types';
import type { Sfumato } from '../services/sfumato';
import { mimeOfExtension } from '../db/library';
import { handleWorkerApi } from './worker-routes';

export interface WebServerOptions {
  port?: number;
  host?: string;
  /** fixed token (tests); default: 32 random hex characters */
  token?: string;
  /** folder of the built renderer (default: out/renderer of this checkout) */
  staticDir?: string;
  /**
   * `serve --worker-token`: a second token that grants only the workers' routes (/api/worker/…);
   * revoked with `POST /api/worker-token/revoke` (server token). Workers may always use the token.
   */
  workerToken?: string;
}

export interface WebServer {
  /** URL to open: the token rides in `?token=` on loopback, in `#token=` elsewhere */
  url: string;
  port: number;
  token: string;
  /** true when bound to a loopback address */
  loopback: boolean;
  /** set when the server is reachable from other machines: print it */
  warning?: string;
  close(): Promise<void>;
}

/** Largest JSON body the API reads. */
export const MAX_BODY = 1 << 20;
/** A client that sends more than this after a 413 is cut off instead of drained. */
const MAX_DISCARD = 64 << 20;
/** A WebSocket client that falls this far behind is dropped (it reconnects). */
const MAX_WS_BUFFER = 4 << 20;
/** Subprotocol the WebSocket answers with; the token comes as `sfumato.token.<token>`. */
export const WS_PROTOCOL = 'sfumato';
export const WS_TOKEN_PREFIX = 'sfumato.token.';


/** out/renderer of this checkout (src-main/server/ -> ../../out/renderer). */
export const DEFAULT_STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'renderer');

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** A request target split into its decoded path and query; undefined when it is malformed. */
function parseTarget(raw: string | undefined): { path: string; rawPath: string; query: URLSearchParams } | undefined {
  // Origin-form only (`/path?query`): absolute-form (`http://…`), `*` and `//host…` are not ours.
  if (!raw || raw[0] !== '/' || raw.startsWith('//')) return undefined;
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  return { path, rawPath, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** A response that can no longer be written to. */
const gone = (res: ServerResponse) => res.destroyed || res.writableEnded;

/** Same-length constant-time comparison of two secrets. */
function secretEquals(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startWebServer(s: Sfumato, opts: WebServerOptions = {}): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]';
  const token = opts.token ?? randomBytes(16).toString('hex');
  /** Key in the library-files cookie; separate from the token and good only for GET /api/files/. */
  const filesKey = randomBytes(24).toString('hex');
  const staticDir = resolve(opts.staticDir ?? DEFAULT_STATIC_DIR);
  const routes = new Map<string, Channel>(ALL_CHANNELS.map((ch) => [channelPath(ch), ch]));
  let port = 0;
  let cookieName = '';

  let workerToken = opts.workerToken;
  const queryTokenAllowed = loopback;
  const workerTokenOk = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) return false;
    return secretEquals(auth.slice(7), token) || (workerToken !== undefined && secretEquals(auth.slice(7), workerToken));
  };
  const tokenOk = (req: IncomingMessage, query: URLSearchParams): boolean => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return secretEquals(auth.slice(7), token);
    const q = query.get('token');
    return queryTokenAllowed && q !== null && secretEquals(q, token);
  };
  const filesCookieOk = (req: IncomingMessage): boolean => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === cookieName && secretEquals(part.slice(eq + 1).trim(), filesKey)) return true;
    }
    return false;
  };
  const wsTokenOk = (req: IncomingMessage, query: URLSearchParams): boolean => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const t = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX));
    if (t !== undefined) return secretEquals(t.slice(WS_TOKEN_PREFIX.length), token);
    return tokenOk(req, query);
  };

  /** Host names this server answers to: itself, loopback, and on a wildcard bind this machine's addresses. */
  const hostOk = (req: IncomingMessage): boolean => {
    const h = (req.headers.host ?? '').toLowerCase();
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d+)$/.exec(h);
    if (!m || Number(m[2]) !== port) return false;
    const name = m[1].replace(/^\[|\]$/g, '');
    if (isLoopbackHost(name) || name === host.toLowerCase().replace(/^\[|\]$/g, '')) return true;
    if (!wildcard) return false;
    if (name === hostname().toLowerCase()) return true;
    if (!isIP(name)) return false;
    return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address.toLowerCase() === name));
  };
  /** No Origin (same-origin GET, curl) or exactly this server's origin as the browser sees it. */
  const originOk = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    return origin.toLowerCase() === `http://${(req.headers.host ?? '').toLowerCase()}`;
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    if (gone(res)) return;
    const data = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(data),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...extra,
    });
    res.end(data);
  };
  const sendError = (res: ServerResponse, e: ApiError) => sendJson(res, HTTP_STATUS[e.code] ?? 500, { ok: false, error: e.toJSON() });
  const sendText = (res: ServerResponse, status: number, text: string) => {
    if (gone(res)) return;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff' });
    res.end(text);
  };

  /** Reads a JSON body up to MAX_BODY; past that it throws payload_too_large and discards the rest. */
  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolveBody, reject) => {
      const tooLarge = () =>
        new ApiError('payload_too_large', `The request body is larger than ${MAX_BODY} bytes; send a smaller request.`, { limit: MAX_BODY });
      const declared = Number(req.headers['content-length']);
      const discard = () => {
        // Keep reading so the client finishes sending and reads the 413 instead of a reset; cut
        // off a client that keeps going far past the limit.
        let dropped = 0;
        req.removeAllListeners('data');
        req.on('data', (c: Buffer) => {
          dropped += c.length;
          if (dropped > MAX_DISCARD) req.socket.destroy();
        });
        req.resume();
      };
      if (Number.isFinite(declared) && declared > MAX_BODY) {
        discard();
        reject(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          over = true;
          chunks.length = 0;
          discard();
          reject(tooLarge());
        } else chunks.push(c);
      });
      req.on('end', () => {
        if (over) return;
        const text = Buffer.concat(chunks).toString('utf8');
        if (!text.trim()) return resolveBody({});
        try {
          resolveBody(JSON.parse(text));
        } catch {
          reject(new ApiError('bad_request', 'The request body is not valid JSON: send a JSON object (or nothing).'));
        }
      });
      req.on('error', (e) => reject(new ApiError('bad_request', `The request was aborted while its body was read (${e.message}).`)));
    });

  /**
   * Streams an opened file and closes it on every path (complete, aborted, read error). HEAD gets
   * the headers only. Errors after the headers went out end this response abruptly (the client
   * sees a short body, not a wrong one); they never escape.
   */
  const streamFile = async (
    req: IncomingMessage,
    res: ServerResponse,
    handle: fs.FileHandle,
    size: number,
    ext: string,
    cache: string,
    extra: Record<string, string> = {},
  ): Promise<boolean> => {
    try {
      if (gone(res)) return false;
      res.writeHead(200, {
        'content-type': mimeOfExtension(ext),
        'content-length': size,
        'cache-control': cache,
        'x-content-type-options': 'nosniff',
        ...extra,
      });
      if (req.method === 'HEAD' || size === 0) {
        res.end();
        return req.method !== 'HEAD';
      }
      // Exactly `size` bytes from the handle: a file that grows meanwhile cannot overrun content-length.
      const stream = handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
      try {
        await pipeline(stream, res);
        return true;
      } catch (e) {
        if (!res.destroyed) res.destroy();
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ECONNRESET' && code !== 'EPIPE') {
          console.error('[sfumato] reading a file for a response failed:', (e as Error).message);
        }
        return false;
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  };

  /** Opens a renderer file under staticDir; undefined when it is missing or not a regular file. */
  const openStatic = async (abs: string): Promise<{ handle: fs.FileHandle; size: number } | undefined> => {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(abs, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
    } catch {
      return undefined;
    }
    try {
      const st = await handle.stat();
      if (st.isFile()) return { handle, size: st.size };
    } catch {
      /* fall through */
    }
    await handle.close().catch(() => undefined);
    return undefined;
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => {
    if (path.startsWith('/api/files/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('bad_request', `Use GET for library files (${path}).`);
      if (!tokenOk(req, query) && !filesCookieOk(req)) {
        throw new ApiError('unauthorized', 'Missing or wrong token for a library file: reload the page from the URL that `sfumato serve` printed.');
      }
      const rel = path.slice('/api/files/'.length);
      const file = await s.library.servableFile(rel);
      await streamFile(req, res, file.handle, file.size, file.ext, 'private, max-age=3600');
      return;
    }
    if (path.startsWith('/api/worker/')) {
      if (!workerTokenOk(req)) throw new ApiError('unauthorized', 'Missing or wrong token: a worker sends the server token or its --worker-token as `Authorization: Bearer <token>`.');
      await handleWorkerApi(s.queue, req, res, path, query);
      return;
    }
    if (!tokenOk(req, query)) {
      throw new ApiError(
        'unauthorized',
        queryTokenAllowed
          ? 'Missing or wrong token: open the URL that `sfumato serve` printed.'
          : 'Missing or wrong token: send it as `Authorization: Bearer <token>` (this server is not on loopback, so `?token=` is refused); open the URL that `sfumato serve` printed.',
      );
    }
    if (path.startsWith('/api/exports/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('bad_request', `Use GET to download an export (${path}).`);
      const m = /^\/api\/exports\/([^/]+)\/([^/]+)$/.exec(path);
      if (!m) throw new ApiError('not_found', `No export download ${path}: the address is /api/exports/<id>/<name> as the export result gave it.`);
      const file = await s.downloads.open(m[1], m[2]);
      const ascii = file.name.replace(/[^A-Za-z0-9._-]/g, '_');
      const sent = await streamFile(req, res, file.handle, file.size, file.ext, 'no-store', {
        'content-type': file.ext === '.zip' ? 'application/zip' : mimeOfExtension(file.ext),
        'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
      });
      if (sent) await s.downloads.discard(m[1]);
      return;
    }
    if (path === '/api/worker-token/revoke') {
      if (req.method !== 'POST') throw new ApiError('bad_request', 'Use POST for /api/worker-token/revoke.');
      const had = workerToken !== undefined;
      workerToken = undefined;
      sendJson(res, 200, { ok: true, result: { revoked: had } });
      return;
    }
    if (path === '/api/session') {
      if (req.method !== 'POST') throw new ApiError('bad_request', 'Use POST for /api/session.');
      sendJson(res, 200, { ok: true, result: {} }, {
        'set-cookie': `${cookieName}=${filesKey}; Path=/api/files/; HttpOnly; SameSite=Strict`,
      });
      return;
    }
    const channel = routes.get(path);
    if (!channel) throw new ApiError('not_found', `No API endpoint ${path}: the API is POST /api/<domain>/<action> for the channels in src-main/api/channels.ts.`);
    if (req.method !== 'POST') throw new ApiError('bad_request', `Use POST for ${path}.`);
    const body = await readBody(req);
    const fn = s.api[channel] as (r: unknown) => Promise<unknown>;
    const result = await fn(body); // validated there; errors leave through toApiError
    sendJson(res, 200, { ok: true, result });
  };

  const handleStatic = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendText(res, 405, `Use GET for ${path}.`);
      return;
    }
    const rel = path === '/' || path === '' ? '/index.html' : path;
    const abs = resolve(staticDir, '.' + rel);
    if (abs !== staticDir && !abs.startsWith(staticDir + sep)) {
      sendText(res, 400, `Bad path ${JSON.stringify(path)}: it points outside the web UI folder.`);
      return;
    }
    let file = await openStatic(abs);
    let ext = extname(abs).toLowerCase();
    // Client-side routes fall back to index.html.
    if (!file && !extname(rel)) {
      file = await openStatic(join(staticDir, 'index.html'));
      ext = '.html';
    }
    if (file) {
      await streamFile(req, res, file.handle, file.size, ext, rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      return;
    }
    if (rel === '/index.html' || !extname(rel)) {
      sendText(res, 503, `The Sfumato UI is not built (no ${join(staticDir, 'index.html')}). Run \`npm run build\` once, then start web mode again.`);
      return;
    }
    sendText(res, 404, `Not found: ${path}`);
  };

  const handleRequest = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostOk(req)) {
      sendText(res, 421, `Sfumato does not answer to Host ${JSON.stringify(req.headers.host ?? '')}: open the URL that \`sfumato serve\` printed.`);
      return;
    }
    if (!originOk(req)) {
      sendText(res, 403, `Cross-origin request refused (Origin ${req.headers.origin}): Sfumato answers only its own page.`);
      return;
    }
    const target = parseTarget(req.url);
    if (!target) {
      sendText(res, 400, 'Malformed request path: it must start with a single "/" and use valid %-escapes.');
      return;
    }
    if (target.path.startsWith('/api/')) await handleApi(req, res, target.path, target.query);
    else await handleStatic(req, res, target.path);
  };

  const server = createServer((req, res) => {
    // A response that fails to write (client gone) must not become an uncaught 'error'.
    res.on('error', () => res.destroy());
    handleRequest(req, res).catch((e: unknown) => {
      const err = toApiError(e);
      if (err.code === 'internal') console.error('[sfumato] request failed:', e);
      if (!res.headersSent) sendError(res, err);
      else if (!res.destroyed) res.destroy();
    });
  });
  // Unparsable requests (bad request line, header overflow, timeouts): answer, never throw.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const [status, text] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', 'Request headers too large.']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['408 Request Timeout', 'Request timed out.']
          : ['400 Bad Request', 'Malformed HTTP request.'];
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  });

  // WebSocket: job progress events.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    // Answer with the plain protocol, never with the token-carrying one.
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  wss.on('error', (e) => console.error('[sfumato] WebSocket server error:', e.message));
  const clients = new Set<WebSocket>();
  const refuseUpgrade = (socket: Socket, status: string, text: string) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // The HTTP server stops watching an upgraded socket: a reset on it must not be an uncaught error.
    socket.on('error', () => socket.destroy());
    try {
      const target = parseTarget(req.url);
      if (!target) return refuseUpgrade(socket, '400 Bad Request', 'Malformed request path.');
      if (!hostOk(req)) return refuseUpgrade(socket, '421 Misdirected Request', 'Sfumato does not answer to this Host.');
      if (!originOk(req)) return refuseUpgrade(socket, '403 Forbidden', `Cross-origin WebSocket refused (Origin ${req.headers.origin}).`);
      if (target.path !== '/api/events') return refuseUpgrade(socket, '404 Not Found', `No WebSocket at ${target.path}; use /api/events.`);
      if (!wsTokenOk(req, target.query)) {
        return refuseUpgrade(socket, '401 Unauthorized', `Missing or wrong token: offer the subprotocols "${WS_PROTOCOL}" and "${WS_TOKEN_PREFIX}<token>".`);
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        clients.add(ws);
        ws.on('close', () => clients.delete(ws));
        ws.on('error', () => {
          clients.delete(ws);
          ws.terminate();
        });
      });
    } catch (e) {
      console.error('[sfumato] WebSocket upgrade failed:', e);
      socket.destroy();
    }
  });
  const onProgress = (p: JobProgress) => {
    const msg = JSON.stringify({ event: 'jobs:progress', payload: p });
    for (const ws of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      // A client that stopped reading is dropped rather than buffered without bound.
      if (ws.bufferedAmount > MAX_WS_BUFFER) {
        clients.delete(ws);
        ws.terminate();
        continue;
      }
      ws.send(msg, () => undefined);
    }
  };
  s.events.on('jobs:progress', onProgress);
  // Export downloads nobody fetched are removed after an hour (services/downloads.ts).
  void s.downloads.sweep();
  const sweepTimer = setInterval(() => void s.downloads.sweep().catch(() => undefined), 10 * 60 * 1000);
  sweepTimer.unref();

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  // After listen, errors (e.g. EMFILE on accept) are reported, not thrown.
  server.on('error', (e) => console.error('[sfumato] web server error:', e.message));
  port = (server.address() as AddressInfo).port;
  cookieName = `sfumato_files_${port}`;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: loopback ? `http://${urlHost}:${port}/?token=${token}` : `http://${urlHost}:${port}/#token=${token}`,
    port,
    token,
    loopback,
    warning: loopback
      ? undefined
      : `Sfumato is listening on ${host}, not only on this machine, over plain HTTP (no TLS): anyone who can reach port ${port} can load the UI, and anyone who sees the token can use the API. The API needs the token in the Authorization header (?token= is refused). Use --host 127.0.0.1 unless you trust the network.`,
    close: async () => {
      clearInterval(sweepTimer);
      s.events.off('jobs:progress', onProgress);
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
