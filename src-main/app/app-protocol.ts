/**
 * The sfumato:// protocol handler, without Electron: a fetch-style Request in, a Response out.
 *
 *   sfumato://app/library/<library-relative path>  images and JSON from the library, through
 *                                                  Library.servableFile (never sfumato.db, never
 *                                                  a symlink out of the library)
 *   sfumato://app/<anything else>                  the built renderer (out/renderer), with MIME
 *                                                  types, a path-traversal guard and the CSP
 *
 * Both live on one origin so that the renderer may read library thumbnails back from a canvas.
 */
import { promises as fs } from 'node:fs';
import { resolve, sep } from 'node:path';
import { ApiError, toApiError } from '../api/errors';
import { mimeOf, type Library } from '../db/library';
import { DESKTOP_CSP } from './security';

export interface AppProtocolOptions {
  /** folder of the built renderer (out/renderer) */
  rendererDir: string;
  library: Library;
}


const LIBRARY_PREFIX = '/library/';

function textResponse(status: number, message: string): Response {
  return new Response(message, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' },
  });
}

function errorResponse(e: unknown): Response {
  const err = toApiError(e);
  const status = err.code === 'bad_request' ? 400 : err.code === 'not_found' ? 404 : 500;
  return textResponse(status, err.message);
}

/** Percent-decoded path segments, or a bad_request naming the URL. */
function decodePath(pathname: string, url: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    throw new ApiError('bad_request', `Malformed percent-encoding in ${url}.`);
  }
}

/**
 * A stream over an opened file that reads at most `size` bytes and closes the handle when the
 * stream ends, fails or is cancelled (the renderer navigating away mid-image).
 */
export function fileHandleStream(handle: fs.FileHandle, size: number, chunkSize = 64 * 1024): ReadableStream<Uint8Array> {
  let pos = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const want = Math.min(chunkSize, size - pos);
        const buf = want > 0 ? new Uint8Array(want) : undefined;
        const n = buf ? (await handle.read(buf, 0, want, pos)).bytesRead : 0;
        if (n === 0) {
          // End of the size taken at open time (or the file shrank since): done.
          await close();
          controller.close();
          return;
        }
        pos += n;
        controller.enqueue(n === want ? buf! : buf!.subarray(0, n));
      } catch (e) {
        await close();
        controller.error(e);
      }
    },
    async cancel() {
      await close();
    },
  });
}

async function serveLibrary(rel: string, head: boolean, library: Library): Promise<Response> {
  const file = await library.servableFile(rel);
  const headers = {
    'content-type': mimeOf(file.abs),
    'content-length': String(file.size),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  if (head) {
    await file.handle.close().catch(() => undefined);
    return new Response(null, { status: 200, headers });
  }
  return new Response(fileHandleStream(file.handle, file.size), { status: 200, headers });
}

/**
 * A file of the built renderer: the path must stay inside rendererDir after resolving `..` and
 * symlinks, and must be a regular file. `/` is index.html (the app routes with the URL hash).
 */
export async function resolveRendererFile(rendererDir: string, decodedPath: string): Promise<string> {
  const rel = decodedPath === '/' || decodedPath === '' ? 'index.html' : decodedPath.replace(/^\/+/, '');
  if (rel.includes('\0')) throw new ApiError('bad_request', `Bad path ${JSON.stringify(decodedPath)}.`);
  const root = resolve(rendererDir);
  const abs = resolve(root, rel);
  if (!abs.startsWith(root + sep)) throw new ApiError('bad_request', `Path ${JSON.stringify(decodedPath)} points outside the app folder.`);
  const missing = () => new ApiError('not_found', `No app file ${decodedPath} in ${root} (rebuild with \`npm run build\`).`);
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([fs.realpath(abs), fs.realpath(root)]);
  } catch {
    throw missing();
  }
  if (!real.startsWith(realRoot + sep)) throw missing();
  const st = await fs.stat(real).catch(() => undefined);
  if (!st?.isFile()) throw missing();
  return real;
}

async function serveRenderer(decodedPath: string, head: boolean, rendererDir: string): Promise<Response> {
  const file = await resolveRendererFile(rendererDir, decodedPath);
  const type = mimeOf(file);
  const headers: Record<string, string> = { 'content-type': type, 'x-content-type-options': 'nosniff' };
  if (type.startsWith('text/html')) headers['content-security-policy'] = DESKTOP_CSP;
  const body = head ? null : new Uint8Array(await fs.readFile(file));
  return new Response(body, { status: 200, headers });
}

/** The whole sfumato:// handler; main.ts passes it to protocol.handle('sfumato', …). */
export async function handleAppRequest(req: Request, opts: AppProtocolOptions): Promise<Response> {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') return textResponse(405, `sfumato:// answers GET and HEAD only, not ${req.method}.`);
    const url = new URL(req.url);
    if (url.host.toLowerCase() !== 'app') {
      return textResponse(404, `Unknown sfumato:// host in ${req.url}: app files and library images are under sfumato://app/.`);
    }
    const head = req.method === 'HEAD';
    if (url.pathname.startsWith(LIBRARY_PREFIX)) {
      return await serveLibrary(decodePath(url.pathname.slice(LIBRARY_PREFIX.length), req.url), head, opts.library);
    }
    return await serveRenderer(decodePath(url.pathname, req.url), head, opts.rendererDir);
  } catch (e) {
    return errorResponse(e);
  }
}
