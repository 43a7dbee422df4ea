/**
 * Web mode: the built renderer and the Sfumato contract over HTTP + WebSocket on 127.0.0.1.
 *
 * - `POST /api/<domain>/<action>` with a JSON body calls channel `<domain>:<action>`;
 *   the reply is `{ok: true, result}` or `{ok: false, error: {code, message, details}}`.
 * - `GET /api/files/<library-relative path>` serves images from the library (samples, thumbnails).
 * - `GET /api/events` upgrades to a WebSocket that pushes `{event, payload}` messages.
 * Every /api/ request and the upgrade need the token (`Authorization: Bearer`, or `?token=`);
 * without it: 401. Static assets are public. Requests whose Host is not this loopback server are
 * refused (DNS-rebinding protection).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { ALL_CHANNELS, type Channel } from '../api/channels';
import { ApiError, HTTP_STATUS } from '../api/errors';
import type { JobProgress } from '../api/types';
import type { Sfumato } from '../services/sfumato';

export interface WebServerOptions {
  port?: number;
  host?: string;
  /** fixed token (tests); default: 32 random hex characters */
  token?: string;
  /** folder of the built renderer (default: out/renderer of this checkout) */
  staticDir?: string;
}

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};
/** Library files the API may serve. */
const SERVABLE = new Set(['.png', '.webp', '.gif', '.svg', '.json']);

/** out/renderer of this checkout (src-main/server/ -> ../../out/renderer). */
export const DEFAULT_STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'renderer');

export async function startWebServer(s: Sfumato, opts: WebServerOptions = {}): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(16).toString('hex');
  const staticDir = resolve(opts.staticDir ?? DEFAULT_STATIC_DIR);
  const channels = new Set<string>(ALL_CHANNELS);
  let port = 0;

  const tokenOk = (req: IncomingMessage, url: URL): boolean => {
    const auth = req.headers.authorization;
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('token') ?? '');
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const hostOk = (req: IncomingMessage): boolean => {
    const h = (req.headers.host ?? '').toLowerCase();
    return h === `${host}:${port}` || h === `localhost:${port}` || h === `127.0.0.1:${port}` || h === `[::1]:${port}`;
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(data);
  };
  const sendError = (res: ServerResponse, e: ApiError) => sendJson(res, HTTP_STATUS[e.code] ?? 500, { ok: false, error: e.toJSON() });

  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolveBody, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new ApiError('bad_request', `Request body larger than ${MAX_BODY} bytes.`));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (!text.trim()) return resolveBody({});
        try {
          resolveBody(JSON.parse(text));
        } catch {
          reject(new ApiError('bad_request', 'The request body is not valid JSON.'));
        }
      });
      req.on('error', reject);
    });

  const serveFile = async (res: ServerResponse, file: string, cache: string) => {
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) return false;
    res.writeHead(200, {
      'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
    });
    createReadStream(file).pipe(res);
    return true;
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!tokenOk(req, url)) throw new ApiError('unauthorized', 'Missing or wrong token: open the URL that `sfumato serve` printed.');
    const path = url.pathname;
    if (path.startsWith('/api/files/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError('bad_request', 'Use GET for files.');
      const rel = decodeURIComponent(path.slice('/api/files/'.length));
      let abs: string;
      try {
        abs = s.library.abs(rel);
      } catch (e) {
        throw new ApiError('bad_request', (e as Error).message);
      }
      if (!SERVABLE.has(extname(abs).toLowerCase())) throw new ApiError('not_found', `Not a servable library file: ${rel}`);
      if (!(await serveFile(res, abs, 'private, max-age=3600'))) throw new ApiError('not_found', `No file ${rel} in the library.`);
      return;
    }
    const m = /^\/api\/([a-z]+)\/([a-z]+)$/.exec(path);
    const channel = m ? `${m[1]}:${m[2]}` : '';
    if (!channels.has(channel)) throw new ApiError('not_found', `No API endpoint ${path}.`);
    if (req.method !== 'POST') throw new ApiError('bad_request', `Use POST for ${path}.`);
    const body = await readBody(req);
    const fn = s.api[channel as Channel] as (r: unknown) => Promise<unknown>;
    const result = await fn(body);
    sendJson(res, 200, { ok: true, result });
  };

  const handleStatic = async (res: ServerResponse, url: URL) => {
    let rel = decodeURIComponent(url.pathname);
    if (rel === '/' || rel === '') rel = '/index.html';
    const abs = resolve(staticDir, '.' + rel);
    if (abs !== staticDir && !abs.startsWith(staticDir + sep)) {
      res.writeHead(400).end('bad path');
      return;
    }
    if (await serveFile(res, abs, rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')) return;
    // Client-side routes fall back to index.html.
    if (!extname(rel) && (await serveFile(res, join(staticDir, 'index.html'), 'no-cache'))) return;
    if (rel === '/index.html') {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`The Sfumato UI is not built (no ${join(staticDir, 'index.html')}). Run \`npm run build\` once, then start web mode again.`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!hostOk(req)) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('Sfumato serves only 127.0.0.1 / localhost.');
      return;
    }
    const work = url.pathname.startsWith('/api/') ? handleApi(req, res, url) : handleStatic(res, url);
    work.catch((e: unknown) => {
      const err = ApiError.from(e);
      if (err.code === 'internal') console.error('[sfumato] request failed:', e);
      if (!res.headersSent) sendError(res, err);
      else res.end();
    });
  });

  // WebSocket: job progress events.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api/events' || !hostOk(req) || !tokenOk(req, url)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('error', () => clients.delete(ws));
    });
  });
  const onProgress = (p: JobProgress) => {
    const msg = JSON.stringify({ event: 'jobs:progress', payload: p });
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(msg);
  };
  s.events.on('jobs:progress', onProgress);

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      s.events.off('jobs:progress', onProgress);
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
