/**
 * The library folder holds everything Sfumato stores: sfumato.db, dataset caches and thumbnails,
 * checkpoints and generated images. Resolution order: an explicit path (`--data-dir`, Electron's
 * userData), then SFUMATO_HOME, then $XDG_DATA_HOME/sfumato, then ~/.local/share/sfumato.
 */
import { constants as fsc, mkdirSync, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { ApiError } from '../api/errors';

/** Library files that the web server and the desktop sfumato:// protocol may hand out. */
export const SERVABLE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.webp', '.gif', '.jpg', '.jpeg', '.json']);

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/** Content type for a file extension (`.png`), as served to the renderer by web mode and sfumato://. */
export function mimeOfExtension(ext: string): string {
  return MIME[ext.toLowerCase()] ?? 'application/octet-stream';
}

/** Content type of a file served to the renderer. */
export function mimeOf(file: string): string {
  return mimeOfExtension(extname(file));
}

/** An opened library file for serving; the caller closes `handle`. */
export interface ServableFile {
  abs: string;
  handle: fs.FileHandle;
  size: number;
  ext: string;
}

export function resolveLibraryPath(explicit?: string): string {
  if (explicit) return resolve(explicit);
  if (process.env.SFUMATO_HOME) return resolve(process.env.SFUMATO_HOME);
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.local', 'share'), 'sfumato');
}

export class Library {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
    for (const d of ['datasets', 'runs', 'samples', 'tmp']) mkdirSync(join(this.root, d), { recursive: true });
  }

  get dbFile(): string {
    return join(this.root, 'sfumato.db');
  }

  /** Absolute path of a library-relative path; refuses paths that escape the library. */
  abs(rel: string): string {
    const p = resolve(this.root, rel);
    if (p !== this.root && !p.startsWith(this.root + sep)) {
      throw new Error(`Path ${JSON.stringify(rel)} points outside the library folder ${this.root}.`);
    }
    return p;
  }

  /**
   * Opens a library file for serving to the renderer (web mode's /api/files, Electron's
   * sfumato://). Only images and JSON, only regular files, and only when the file's real path
   * (symlinks resolved) is inside the library's real path: the database, checkpoints and anything
   * a link points to outside the library are never served. The size comes from the opened handle,
   * so a file replaced or removed in between is either served whole or reported missing.
   */
  async servableFile(rel: string): Promise<ServableFile> {
    let abs: string;
    try {
      abs = this.abs(rel);
    } catch (e) {
      throw new ApiError('bad_request', (e as Error).message);
    }
    const ext = extname(abs).toLowerCase();
    if (!SERVABLE_EXTENSIONS.has(ext)) throw new ApiError('not_found', `Not a servable library file: ${rel} (only images and JSON are served).`);
    const missing = () => new ApiError('not_found', `No file ${rel} in the library.`);
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([fs.realpath(abs), fs.realpath(this.root)]);
    } catch {
      throw missing();
    }
    if (real !== realRoot && !real.startsWith(realRoot + sep)) throw missing();
    let handle: fs.FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted under the library must not hang the open.
      handle = await fs.open(real, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
    } catch {
      throw missing();
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw missing();
      return { abs: real, handle, size: st.size, ext };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e instanceof ApiError ? e : missing();
    }
  }

  /** Library-relative path with forward slashes. */
  rel(...parts: string[]): string {
    return parts.join('/');
  }
}
