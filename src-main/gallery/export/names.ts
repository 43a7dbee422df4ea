/** Export error, and safe file names and paths inside the chosen folder (moved whole from gallery/export.ts; its file comment has the safety rules). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DomainError } from '../../api/errors';
import type { ApiErrorCode } from '../../api/types';

export class ExportError extends DomainError {
  /** a target that exists is a conflict (choose another); the rest is bad input */
  get apiCode(): ApiErrorCode {
    return this.code === 'exists' ? 'conflict' : 'bad_request';
  }
  override apiDetails(): { reason: string } {
    return { reason: this.code };
  }
  constructor(
    readonly code: 'unsafe_path' | 'bad_input' | 'too_large' | 'exists',
    message: string,
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

// ------------------------------------------------------------------ names and paths

// Windows device names, also with an extension ("CON.txt") and the superscript digits it accepts.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const FORBIDDEN_CHARS = /[<>:"/\\|?*]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
const MAX_SEGMENT_BYTES = 255;

function segmentProblem(seg: string): string | undefined {
  if (seg === '' || seg === '.' || seg === '..') return `"${seg}" is not a file name`;
  if (CONTROL.test(seg)) return 'contains control characters';
  if (FORBIDDEN_CHARS.test(seg)) return 'contains one of < > : " / \\ | ? *';
  if (WINDOWS_RESERVED.test(seg)) return `"${seg}" is a reserved device name on Windows`;
  if (/[. ]$/.test(seg)) return 'ends with a dot or space (Windows would strip it)';
  if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES) return `longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

/**
 * The absolute path of `name` inside `targetDir`, or an `ExportError('unsafe_path')`.
 * `name` may have forward-slash subfolders; each part must be a plain, portable file name.
 * Refused: empty names, `.`/`..`, absolute or drive paths, backslashes, NUL and control
 * characters, `< > : " | ? *`, Windows device names (CON, NUL, COM1, …), trailing dots/spaces.
 */
export function safeExportPath(targetDir: string, name: string): string {
  const refuse = (why: string) => new ExportError('unsafe_path', `Refusing export file name ${JSON.stringify(String(name).slice(0, 100))}: ${why}.`);
  if (typeof name !== 'string' || name.length === 0) throw refuse('empty');
  if (name.length > 1024) throw refuse('too long');
  if (name.includes('\0') || CONTROL.test(name)) throw refuse('contains control characters');
  if (LONE_SURROGATE.test(name)) throw refuse('is not well-formed Unicode');
  if (path.posix.isAbsolute(name) || path.win32.isAbsolute(name) || /^[A-Za-z]:/.test(name)) throw refuse('absolute paths are not allowed');
  if (name.includes('\\')) throw refuse('backslashes are not allowed');
  const segs = name.split('/');
  for (const seg of segs) {
    const p = segmentProblem(seg);
    if (p) throw refuse(p);
  }
  const root = path.resolve(targetDir);
  const full = path.resolve(root, ...segs);
  const rel = path.relative(root, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw refuse('it would leave the target folder');
  return full;
}

/**
 * Turns a name from metadata into a safe single file name: NFC, forbidden and control characters
 * replaced by `_`, no leading/trailing dots or spaces, device names prefixed with `_`, at most
 * 200 UTF-8 bytes (keeping the extension). Returns `fallback` when nothing usable is left.
 */
export function sanitizeFileName(raw: string, fallback = 'file'): string {
  let s = String(raw ?? '').normalize('NFC');
  s = s.replace(/[\u0000-\u001f\u007f-\u009f<>:"/\\|?*]/g, '_');
  s = s.replace(LONE_SURROGATES, '_');
  s = s.replace(/^[. ]+/, '').replace(/[. ]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if (Buffer.byteLength(s, 'utf8') > 200) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : '';
    let stem = s.slice(0, s.length - ext.length);
    while (Buffer.byteLength(stem + ext, 'utf8') > 200) stem = Array.from(stem).slice(0, -1).join('');
    s = stem + ext;
  }
  return s === '' || s === '.' || s === '..' ? fallback : s;
}

/**
 * A name in `dir` that no existing file has and that is not in `taken` (case-insensitive):
 * `name`, `name-1`, `name-2`, … before the extension. Checking is not reserving: the export
 * commits with a no-clobber link, so a file created meanwhile is never overwritten either.
 */
export async function uniqueName(dir: string, name: string, taken: ReadonlySet<string> = new Set()): Promise<string> {
  safeExportPath(dir, name);
  for (let n = 0; n < 100_000; n++) {
    const dot = name.lastIndexOf('.');
    const candidate = n === 0 ? name : dot > 0 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
    if (taken.has(candidate.toLowerCase())) continue;
    const exists = await fs.lstat(path.join(dir, candidate)).then(
      () => true,
      () => false,
    );
    if (!exists) return candidate;
  }
  throw new ExportError('exists', `no free file name for ${name} in ${dir}`);
}
