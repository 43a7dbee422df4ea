/**
 * Export downloads for web mode: the browser cannot read a path on the server, so an export made
 * "for download" is written to `<library>/exports/<random id>/` and handed out once through an
 * authenticated GET (`/api/exports/<id>/<name>`, see server/http.ts).
 *
 * Rules: only a file this process registered after an export finished is ever served (a file
 * dropped into exports/ by anything else is a 404, and so is any other name in the folder); the id
 * is 128 random bits; the file must still be a regular file whose real path (symlinks resolved) is
 * the one registered, inside the library's real exports/ folder; it is opened with O_NOFOLLOW.
 * A folder is removed after its file was downloaded completely, and any export folder older than
 * an hour is removed by `sweep()` (also leftovers of an earlier process: registrations live in
 * memory, so after a restart nothing old is served, only cleaned up).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { ApiError } from '../api/errors';
import type { Library, ServableFile } from '../db/library';

export const EXPORTS_DIR = 'exports';
export const DOWNLOAD_TTL_MS = 60 * 60 * 1000;
const ID = /^[0-9a-f]{32}$/;
const DOWNLOAD_EXTENSIONS = new Set(['.zip', '.png', '.webp', '.onnx']);

interface Entry {
  abs: string;
  name: string;
  createdAt: number;
}

export interface ExportDownloadFile extends ServableFile {
  /** the file name the browser saves */
  name: string;
}

export class ExportDownloads {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly library: Library,
    private readonly ttlMs = DOWNLOAD_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The folder for exports: `<library>/exports`. */
  get root(): string {
    return this.library.abs(EXPORTS_DIR);
  }

  /** A new empty folder with a random name for one export (old ones are swept first). */
  async create(): Promise<{ id: string; dir: string }> {
    await this.sweep();
    const id = randomBytes(16).toString('hex');
    const dir = join(this.root, id);
    await fs.mkdir(dir, { recursive: true });
    return { id, dir };
  }

  /** Marks `abs` (inside the folder of `id`) as the one file that id may download. */
  register(id: string, abs: string): { id: string; name: string } {
    const dir = join(this.root, id);
    if (!ID.test(id) || dirname(abs) !== dir) throw new Error(`Export download ${abs} is not inside ${dir}.`);
    const name = basename(abs);
    this.entries.set(id, { abs, name, createdAt: this.now() });
    return { id, name };
  }

  /** Removes the folder of one export (after its download, or when the export failed). */
  async discard(id: string): Promise<void> {
    if (!ID.test(id)) return;
    this.entries.delete(id);
    await fs.rm(join(this.root, id), { recursive: true, force: true }).catch(() => undefined);
  }

  /**
   * Opens the registered file of `id` for serving when `name` is its name; else ApiError
   * not_found. The caller closes the handle and calls `discard(id)` after a complete download.
   */
  async open(id: string, name: string): Promise<ExportDownloadFile> {
    const missing = () => new ApiError('not_found', `No export download ${id}/${name}: downloads are served once and kept for an hour; export again.`);
    const e = ID.test(id) ? this.entries.get(id) : undefined;
    if (!e || e.name !== name || !DOWNLOAD_EXTENSIONS.has(extname(name).toLowerCase())) throw missing();
    if (this.now() - e.createdAt > this.ttlMs) {
      await this.discard(id);
      throw missing();
    }
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([fs.realpath(e.abs), fs.realpath(this.root)]);
    } catch {
      throw missing();
    }
    if (real !== join(realRoot, id, e.name)) throw missing();
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(real, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
    } catch {
      throw missing();
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw missing();
      return { abs: real, handle, size: st.size, ext: extname(name).toLowerCase(), name };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err instanceof ApiError ? err : missing();
    }
  }

  /** Removes export folders older than the time to live (registered or left by an earlier process). */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const [id, e] of this.entries) if (now - e.createdAt > this.ttlMs) await this.discard(id);
    let names: string[];
    try {
      names = await fs.readdir(this.root);
    } catch {
      return;
    }
    for (const n of names) {
      if (!ID.test(n) || this.entries.has(n)) continue;
      const st = await fs.lstat(join(this.root, n)).catch(() => undefined);
      if (st?.isDirectory() && now - st.mtimeMs > this.ttlMs) await fs.rm(join(this.root, n), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
