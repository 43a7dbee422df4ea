/**
 * The folder picker of web mode (`folders:list`): the subfolders of one folder and how many images
 * each holds, so a browser can choose a folder on the machine that runs Sfumato without typing its
 * path. It is confined to the user's home folder and the library folder:
 *
 * - a relative path is taken from the home folder; `..` is resolved before any check;
 * - the path is checked as written and again after every symbolic link in it is resolved
 *   (realpath), so neither `..` nor a link that leads out of the allowed folders gets through
 *   (`forbidden`, naming the path);
 * - hidden entries (names starting with a dot) are not listed, and a link inside the home folder
 *   that points outside it is not listed either;
 * - nothing is read but folder listings: no file is opened.
 * Like every channel it answers over HTTP only with the server's token.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ApiError } from '../api/errors';
import type { FolderListing } from '../api/types';

/** Image files by name, as the picker counts them (the import itself checks the content). */
const IMAGE_NAME = /\.(png|jpe?g|jpe|jfif|gif|webp|tiff?|avif)$/i;
/** Subfolders listed at most (a folder of thousands is cut, `truncated` says so). */
export const MAX_FOLDERS = 1000;

function within(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function realOrNull(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch {
    return null;
  }
}

async function countImages(dir: string): Promise<number> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink()) && IMAGE_NAME.test(e.name)).length;
  } catch {
    return 0;
  }
}

function forbidden(shown: string, roots: string[]): ApiError {
  return new ApiError('forbidden', `${shown} is outside the folders Sfumato may show (${roots.join(' and ')}). Choose a folder inside your home folder.`, {
    field: 'path',
    path: shown,
  });
}

/**
 * Lists `requested` (default: the home folder). `extraRoots` are further allowed folders (the
 * library); `home` defaults to the operating system's home folder ($HOME).
 */
export async function listFolders(requested: string | undefined, extraRoots: readonly string[], home: string = homedir()): Promise<FolderListing> {
  const lexicalRoots = [home, ...extraRoots].map((r) => path.resolve(r));
  const realRoots: string[] = [];
  for (const r of lexicalRoots) {
    const real = await realOrNull(r);
    if (real && !realRoots.includes(real)) realRoots.push(real);
  }
  if (!realRoots.length) throw new ApiError('unavailable', `The home folder ${home} cannot be read; type the folder's path instead.`);
  const want = requested?.trim() ? requested : realRoots[0]!;
  if (want.includes('\0')) throw new ApiError('bad_request', 'path: a folder path cannot contain a NUL character.', { field: 'path' });
  const target = path.isAbsolute(want) ? path.resolve(want) : path.resolve(realRoots[0]!, want);
  // As written (after `..` is resolved): inside an allowed folder, or inside its real location.
  if (![...lexicalRoots, ...realRoots].some((r) => within(target, r))) throw forbidden(want, realRoots);
  let real: string;
  try {
    real = await realpath(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ApiError('not_found', `Folder not found: ${target}. Choose another folder.`, { field: 'path' });
    throw new ApiError('bad_request', `Folder ${target} cannot be opened (${code ?? (e as Error).message}). Choose another folder.`, { field: 'path' });
  }
  // After every link is resolved: still inside.
  if (!realRoots.some((r) => within(real, r))) throw forbidden(want, realRoots);
  const st = await stat(real);
  if (!st.isDirectory()) throw new ApiError('bad_request', `${target} is a file, not a folder. Choose a folder.`, { field: 'path' });
  let entries;
  try {
    entries = await readdir(real, { withFileTypes: true });
  } catch (e) {
    throw new ApiError('bad_request', `Folder ${real} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check its permissions.`, { field: 'path' });
  }
  const names = entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isSymbolicLink()))
    .map((e) => e.name)
    .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : a < b ? -1 : 1));
  const folders: FolderListing['folders'] = [];
  let truncated = false;
  for (const name of names) {
    const child = path.join(real, name);
    const childReal = await realOrNull(child);
    if (!childReal || !realRoots.some((r) => within(childReal, r))) continue;
    const cst = await stat(childReal).catch(() => undefined);
    if (!cst?.isDirectory()) continue;
    if (folders.length >= MAX_FOLDERS) {
      truncated = true;
      break;
    }
    folders.push({ name, path: child, imageCount: await countImages(childReal) });
  }
  const atRoot = realRoots.includes(real);
  const up = path.dirname(real);
  return {
    path: real,
    parent: !atRoot && realRoots.some((r) => within(up, r)) ? up : null,
    imageCount: await countImages(real),
    folders,
    roots: realRoots,
    truncated,
  };
}
