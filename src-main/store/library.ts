/**
 * The library folder holds everything Sfumato stores: sfumato.db, dataset caches and thumbnails,
 * checkpoints and generated images. Resolution order: an explicit path (`--data-dir`, Electron's
 * userData), then SFUMATO_HOME, then $XDG_DATA_HOME/sfumato, then ~/.local/share/sfumato.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';

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

  /** Library-relative path with forward slashes. */
  rel(...parts: string[]): string {
    return parts.join('/');
  }
}
