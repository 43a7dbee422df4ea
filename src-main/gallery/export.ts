/**
 * Gallery exports: a folder or zip of images with manifest.json + manifest.csv, a contact sheet,
 * a denoising animation and an interpolation strip.
 *
 * Safety rules (issue 6):
 * - names come from metadata, so they are sanitised and every write target is checked to stay
 *   inside the chosen folder (`safeExportPath`): no `..`, absolute names, control characters,
 *   Windows-reserved names;
 * - existing files are never overwritten: files are committed with a no-clobber link (atomic.ts)
 *   and get -1, -2, … when the name is taken;
 * - nothing half-written is ever visible: every file is written to a temp name in the target
 *   folder, fsynced and moved into place; a cancelled or failed export removes what it wrote; a
 *   killed one leaves only dot-prefixed temp files that the next export cleans up.
 *
 * Zip writing uses fflate 0.8.3 (≈8 kB, no dependencies, 100M+ downloads/month): its streaming
 * `Zip` lets us write entry by entry to a file handle with bounded memory, and it gets the
 * format details (UTF-8 names, data descriptors, DOS times, CRC) right; a hand-written writer
 * would be the same code with fewer users. Images are stored (PNG/WebP are already compressed),
 * the manifests deflated. fflate writes no ZIP64, so exports are capped at 65,535 entries / 4 GiB.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import sharp, { type OverlayOptions } from 'sharp';
import type { SampleRecord } from '../api/types';
import { checkAborted, commitNoClobber, fsyncDir, removeStaleTemps, STAGING_PREFIX, tempNameFor, writeTemp } from './atomic';
import { encodePng } from './png';
import { parsePngChunks } from '../png/chunks';
import { a1111Parameters, embedSampleMetadata, readSampleMetadata, sfumatoChunkText } from './metadata';
import { DomainError } from '../api/errors';
import type { ApiErrorCode } from '../api/types';

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
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
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

// ------------------------------------------------------------------ manifest

export interface ExportSample {
  record: SampleRecord;
  /** absolute path of the sample's PNG in the library */
  absFile: string;
}

export type ImageFormat = 'png' | 'webp';

export interface ExportProgress {
  phase: 'images' | 'commit' | 'done';
  done: number;
  total: number;
}

export interface ExportOptions {
  format?: ImageFormat;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
  /** written into the manifest */
  appVersion?: string;
  /** the export's timestamp (default now); fixed in tests */
  now?: Date;
  /** integer nearest-neighbour upscale of every image, 1..16 (default 1: the library bytes) */
  upscale?: number;
}

export interface ManifestItem {
  /** file name inside the export */
  file: string;
  format: ImageFormat;
  bytes: number;
  sha256: string;
  record: SampleRecord;
}

export interface Manifest {
  format: 'sfumato-export';
  version: 1;
  exportedAt: string;
  appVersion?: string;
  /** the nearest-neighbour factor applied to every image (absent when 1); records keep the original size */
  upscale?: number;
  count: number;
  items: ManifestItem[];
}

export interface ExportResult {
  /** the folder, or the zip file's final path */
  path: string;
  manifest: Manifest;
  /** names of everything written (images, manifest.json, manifest.csv) relative to the folder/zip */
  files: string[];
}

const CSV_FIXED = ['file', 'format', 'bytes', 'sha256'];

/** One CSV column per record field; nested objects become `parent.key` columns; arrays are JSON. */
function flattenRecord(record: SampleRecord): Map<string, string> {
  const out = new Map<string, string>();
  const put = (k: string, v: unknown) => {
    if (v === undefined) return;
    out.set(k, v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  };
  for (const [k, v] of Object.entries(record)) {
    const key = k === 'file' ? 'sourceFile' : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) put(`${key}.${k2}`, v2);
    } else put(key, v);
  }
  return out;
}

/**
 * One CSV field (RFC 4180 §2): quoted when it holds `"`, `,`, CR or LF, quotes doubled. A text
 * cell starting with = + - @ or a tab that is not a number gets a leading `'` so spreadsheet apps
 * do not run it as a formula (OWASP "CSV injection"); manifest.json keeps the exact value.
 */
export function csvField(value: string): string {
  let v = value;
  if (/^[=+\-@\t\r]/.test(v) && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** manifest.csv: a header and one row per image, CRLF line ends (RFC 4180). */
export function manifestCsv(manifest: Manifest): string {
  const rows = manifest.items.map((it) => flattenRecord(it.record));
  const columns: string[] = [...CSV_FIXED];
  const seen = new Set(columns);
  for (const r of rows) for (const k of r.keys()) if (!seen.has(k)) (seen.add(k), columns.push(k));
  const lines = [columns.map(csvField).join(',')];
  manifest.items.forEach((it, i) => {
    const fixed: Record<string, string> = { file: it.file, format: it.format, bytes: String(it.bytes), sha256: it.sha256 };
    lines.push(columns.map((c) => csvField(c in fixed ? fixed[c] : (rows[i].get(c) ?? ''))).join(','));
  });
  return `${lines.join('\r\n')}\r\n`;
}

export function manifestJson(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

// ------------------------------------------------------------------ image conversion

const MAX_SOURCE_BYTES = 256 * 1024 * 1024;

/** XML 1.0 text escaping; characters XML cannot carry at all (controls, lone surrogates) are dropped. */
export function xmlEscape(s: string): string {
  return (
    String(s)
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(LONE_SURROGATES, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

async function readSource(absFile: string): Promise<Uint8Array> {
  const st = await fs.stat(absFile);
  if (!st.isFile()) throw new ExportError('bad_input', `${absFile} is not a file`);
  if (st.size > MAX_SOURCE_BYTES) throw new ExportError('too_large', `${absFile} is larger than ${MAX_SOURCE_BYTES} bytes`);
  return new Uint8Array(await fs.readFile(absFile));
}

/**
 * The exported bytes of one sample. PNG: the library file, with our `parameters` + `sfumato`
 * chunks added when it lacks them (older samples). WebP: lossless, the A1111 text in EXIF
 * ImageDescription (where A1111 puts it for non-PNG files), the sfumato JSON in XMP.
 */
export async function exportImageBytes(sample: ExportSample, format: ImageFormat, upscale = 1): Promise<Uint8Array> {
  const n = upscaleFactor(upscale);
  const original = await readSource(sample.absFile);
  // Upscaled: every source pixel becomes an n×n block. sharp drops our text chunks on the way,
  // so the PNG path below embeds the record again (the record keeps the sample's own size).
  const src = n === 1 ? original : await nearestUpscale(original, n);
  if (format === 'png') {
    const meta = readSampleMetadata(src);
    if (meta.record?.id === sample.record.id) return src;
    // Re-encode through sharp when the source is not a well-formed PNG we can add chunks to.
    const parsed = parsePngChunks(src);
    const wellFormed = parsed.signatureOk && parsed.ended && parsed.problems.every((p) => p.code === 'trailing_data');
    const png = wellFormed ? src : new Uint8Array(await sharp(src).png().toBuffer());
    return embedSampleMetadata(png, sample.record);
  }
  const xmp =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:sfumato="https://sfumato.invalid/ns/1.0/">' +
    `<sfumato:sample>${xmlEscape(sfumatoChunkText(sample.record))}</sfumato:sample>` +
    '</rdf:Description></rdf:RDF></x:xmpmeta>';
  const out = await sharp(src)
    .webp({ lossless: true })
    .withExif({ IFD0: { ImageDescription: a1111Parameters(sample.record), Software: `Sfumato ${sample.record.appVersion}` } })
    .withXmp(xmp)
    .toBuffer();
  return new Uint8Array(out);
}

/** An export upscale factor: an integer from 1 to 16, else ExportError('bad_input'). */
export function upscaleFactor(upscale: number | undefined): number {
  const n = upscale ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new ExportError('bad_input', `upscale must be a whole number from 1 to 16 (got ${upscale}).`);
  return n;
}

/** A PNG of `src` scaled by exactly `n` with nearest-neighbour sampling (pixel art stays crisp). */
export async function nearestUpscale(src: Uint8Array, n: number): Promise<Uint8Array> {
  const img = sharp(src);
  const { width, height } = await img.metadata();
  if (!width || !height) throw new ExportError('bad_input', 'An image to upscale has no size.');
  if (width * n * height * n > MAX_SHEET_PIXELS) throw new ExportError('too_large', `A ${width}x${height} image upscaled ×${n} is too large; choose a smaller factor.`);
  const out = await img.resize(width * n, height * n, { kernel: 'nearest', fit: 'fill' }).png().toBuffer();
  return new Uint8Array(out);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkSamples(samples: readonly ExportSample[]): void {
  if (!Array.isArray(samples) || samples.length === 0) throw new ExportError('bad_input', 'Nothing to export: select at least one sample.');
  if (samples.length > 65_000) throw new ExportError('too_large', 'At most 65,000 images per export.');
}

function imageName(record: SampleRecord, format: ImageFormat, taken: Set<string>): string {
  const base = sanitizeFileName(`${record.id}.${format}`, `sample.${format}`);
  let name = base;
  for (let n = 1; taken.has(name.toLowerCase()); n++) name = base.replace(/(\.[^.]+)?$/, (ext) => `-${n}${ext}`);
  taken.add(name.toLowerCase());
  return name;
}

// ------------------------------------------------------------------ folder export

/**
 * Exports images into `targetDir` (created if needed) with manifest.json and manifest.csv.
 * Images are prepared in a hidden staging folder inside `targetDir`, then moved into place with
 * no-clobber links (taken names get -1, -2, …), then the manifests (naming the final file names)
 * are committed the same way. Cancel or failure removes everything this export committed.
 */
export async function exportFolder(samples: readonly ExportSample[], targetDir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  checkSamples(samples);
  const format = opts.format ?? 'png';
  const upscale = upscaleFactor(opts.upscale);
  const { signal, onProgress } = opts;
  checkAborted(signal);
  const dir = path.resolve(targetDir);
  // the first folder this export created (undefined when `dir` existed): removed again on failure
  const created = await fs.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const staging = await fs.mkdtemp(path.join(dir, `${STAGING_PREFIX}${process.pid}-`));
  const committed: string[] = [];
  let done = false;
  try {
    const planned: { name: string; tmp: string; item: Omit<ManifestItem, 'file'> }[] = [];
    const names = new Set<string>(['manifest.json', 'manifest.csv']);
    for (let i = 0; i < samples.length; i++) {
      checkAborted(signal);
      const s = samples[i];
      const bytes = await exportImageBytes(s, format, upscale);
      const name = imageName(s.record, format, names);
      const tmp = path.join(staging, name);
      safeExportPath(staging, name);
      await fs.writeFile(tmp, bytes, { flag: 'wx' });
      planned.push({ name, tmp, item: { format, bytes: bytes.length, sha256: sha256(bytes), record: s.record } });
      onProgress?.({ phase: 'images', done: i + 1, total: samples.length });
    }
    checkAborted(signal);
    // fsync the staged files once, then commit.
    for (const p of planned) {
      const fh = await fs.open(p.tmp, 'r+');
      await fh.sync().finally(() => fh.close());
    }
    const taken = new Set<string>();
    const items: ManifestItem[] = [];
    for (let i = 0; i < planned.length; i++) {
      checkAborted(signal);
      const final = await commitNoClobber(planned[i].tmp, dir, planned[i].name, taken);
      committed.push(final);
      items.push({ file: final, ...planned[i].item });
      onProgress?.({ phase: 'commit', done: i + 1, total: planned.length });
    }
    const manifest: Manifest = {
      format: 'sfumato-export',
      version: 1,
      exportedAt: (opts.now ?? new Date()).toISOString(),
      ...(opts.appVersion ? { appVersion: opts.appVersion } : {}),
      ...(upscale > 1 ? { upscale } : {}),
      count: items.length,
      items,
    };
    checkAborted(signal);
    for (const [name, text] of [
      ['manifest.json', manifestJson(manifest)],
      ['manifest.csv', manifestCsv(manifest)],
    ] as const) {
      const tmp = await writeTemp(dir, name, new TextEncoder().encode(text));
      committed.push(await commitNoClobber(tmp, dir, name, taken).catch(async (e) => {
        await fs.rm(tmp, { force: true });
        throw e;
      }));
    }
    await fsyncDir(dir);
    done = true;
    onProgress?.({ phase: 'done', done: samples.length, total: samples.length });
    return { path: dir, manifest, files: committed };
  } finally {
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (!done) {
      for (const f of committed) await fs.rm(path.join(dir, f), { force: true }).catch(() => undefined);
      await fsyncDir(dir);
      // Folders this export made go too (rmdir: only while empty, never anyone else's files).
      if (created) {
        for (let d = dir; ; d = path.dirname(d)) {
          const gone = await fs.rmdir(d).then(
            () => true,
            () => false,
          );
          if (!gone || d === path.resolve(created) || path.dirname(d) === d) break;
        }
      }
    }
  }
}

// ------------------------------------------------------------------ zip export

export interface ZipOptions extends ExportOptions {
  /** when `zipPath` exists: pick `name-1.zip`, … (default) or fail with ExportError('exists') */
  onExists?: 'rename' | 'fail';
  /** more files stored in the zip after the images (e.g. the contact sheet of a download) */
  extra?: { name: string; bytes: Uint8Array }[];
}

const ZIP_LIMIT = 0xffffffff - 64 * 1024 * 1024; // fflate writes no ZIP64: keep well under 4 GiB

function dosSafeDate(iso: string | undefined, fallback: Date): Date {
  const d = iso ? new Date(iso) : fallback;
  const y = d.getUTCFullYear();
  return Number.isNaN(d.getTime()) || y < 1980 || y > 2107 ? fallback : d;
}

/**
 * The same content as `exportFolder`, as one zip. Streamed into a temp file next to `zipPath`,
 * fsynced, then moved to its final name with a no-clobber link: a kill -9 at any moment leaves
 * no file under the final name (only a dot-prefixed temp file that the next export removes).
 */
export async function exportZip(samples: readonly ExportSample[], zipPath: string, opts: ZipOptions = {}): Promise<ExportResult> {
  checkSamples(samples);
  const format = opts.format ?? 'png';
  const upscale = upscaleFactor(opts.upscale);
  const { signal, onProgress } = opts;
  checkAborted(signal);
  const abs = path.resolve(zipPath);
  const dir = path.dirname(abs);
  const base = path.basename(abs);
  safeExportPath(dir, base);
  await fs.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  if (opts.onExists === 'fail') {
    const exists = await fs.lstat(abs).then(
      () => true,
      () => false,
    );
    if (exists) throw new ExportError('exists', `${abs} already exists; choose another name.`);
  }
  const now = opts.now ?? new Date();
  const tmp = path.join(dir, tempNameFor(base));
  const fh = await fs.open(tmp, 'wx');
  let closed = false;
  let committedName: string | undefined;
  try {
    let written = 0;
    let chain: Promise<void> = Promise.resolve();
    let zipError: Error | undefined;
    const zip = new Zip((err, chunk) => {
      if (err) {
        zipError = err;
        return;
      }
      written += chunk.length;
      chain = chain.then(async () => {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      });
    });
    const flush = async () => {
      await chain;
      if (zipError) throw zipError;
      if (written > ZIP_LIMIT) throw new ExportError('too_large', 'The zip would pass 4 GiB; export fewer images or to a folder.');
    };
    const names = new Set<string>(['manifest.json', 'manifest.csv', ...(opts.extra ?? []).map((e) => e.name.toLowerCase())]);
    const items: ManifestItem[] = [];
    for (let i = 0; i < samples.length; i++) {
      checkAborted(signal);
      const s = samples[i];
      const bytes = await exportImageBytes(s, format, upscale);
      const name = imageName(s.record, format, names);
      safeExportPath(dir, name);
      const entry = new ZipPassThrough(name);
      entry.mtime = dosSafeDate(s.record.createdAt, now);
      zip.add(entry);
      entry.push(bytes, true);
      await flush();
      items.push({ file: name, format, bytes: bytes.length, sha256: sha256(bytes), record: s.record });
      onProgress?.({ phase: 'images', done: i + 1, total: samples.length });
    }
    const manifest: Manifest = {
      format: 'sfumato-export',
      version: 1,
      exportedAt: now.toISOString(),
      ...(opts.appVersion ? { appVersion: opts.appVersion } : {}),
      ...(upscale > 1 ? { upscale } : {}),
      count: items.length,
      items,
    };
    for (const x of opts.extra ?? []) {
      safeExportPath(dir, x.name);
      const entry = new ZipPassThrough(x.name);
      entry.mtime = now;
      zip.add(entry);
      entry.push(x.bytes, true);
      await flush();
    }
    for (const [name, text] of [
      ['manifest.json', manifestJson(manifest)],
      ['manifest.csv', manifestCsv(manifest)],
    ] as const) {
      const entry = new ZipDeflate(name, { level: 6 });
      entry.mtime = now;
      zip.add(entry);
      entry.push(new TextEncoder().encode(text), true);
    }
    zip.end();
    await flush();
    await fh.sync();
    await fh.close();
    closed = true;
    checkAborted(signal);
    onProgress?.({ phase: 'commit', done: samples.length, total: samples.length });
    try {
      committedName = await commitNoClobber(tmp, dir, base, new Set(), opts.onExists !== 'fail');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ExportError('exists', `${abs} already exists; choose another name.`);
      throw e;
    }
    await fsyncDir(dir);
    onProgress?.({ phase: 'done', done: samples.length, total: samples.length });
    return { path: path.join(dir, committedName), manifest, files: [...items.map((it) => it.file), ...(opts.extra ?? []).map((e) => e.name), 'manifest.json', 'manifest.csv'] };
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
    if (!committedName) await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

// ------------------------------------------------------------------ contact sheet

export interface ContactSheetOptions {
  /** images per row (default: ceil(sqrt(n))) */
  columns?: number;
  /** square cell size in pixels for each image (default 128; with `upscale`, the largest image × upscale) */
  cellSize?: number;
  /**
   * integer nearest-neighbour factor (1..16): each image is drawn at exactly its size × upscale
   * (centred in its cell) instead of being fitted to `cellSize`
   */
  upscale?: number;
  /** a caption under each image: seed, sampler, steps (default true) */
  captions?: boolean;
  /** CSS colour (default white) */
  background?: string;
  /** space between cells in pixels (default 8) */
  gap?: number;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
}

const MAX_SHEET_PIXELS = 100_000_000;

/** Caption text of one cell. */
export function captionOf(r: SampleRecord): string {
  return `seed ${r.seed} · ${r.sampler} · ${r.steps} steps`;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SheetLabel {
  /** the caption's band under its cell: nothing of this label is drawn outside it (it is also the clip) */
  box: Box;
  /** the lines drawn, each with the box its text occupies (by the monospace advance below) */
  lines: { text: string; box: Box }[];
}

export interface SheetLayout {
  width: number;
  height: number;
  fontSize: number;
  cells: Box[];
  labels: SheetLabel[];
}

/**
 * Captions are drawn in a monospace face, whose advance is 0.6 em in the common faces (DejaVu Sans
 * Mono, Liberation Mono, Menlo, Consolas); measured a little wider, and East Asian wide characters
 * count double. Each label is also clipped to its own box, so a wider fallback font can cut a
 * caption short but never draw over a neighbour.
 */
const MONO_ADVANCE_EM = 0.62;
const LINE_HEIGHT_EM = 1.25;
const MAX_CAPTION_LINES = 3;
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\ud840-\ud8bf][\udc00-\udfff]/;

/** Width in pixels of `text` at `fontSize` in the caption face. */
export function captionWidth(text: string, fontSize: number): number {
  let units = 0;
  for (const ch of text) units += WIDE.test(ch) ? 2 : 1;
  return units * fontSize * MONO_ADVANCE_EM;
}

/** The longest prefix of `text` (whole code points) that fits `width`, with `…` when cut. */
function ellipsize(text: string, width: number, fontSize: number): string {
  if (captionWidth(text, fontSize) <= width) return text;
  const chars = Array.from(text);
  while (chars.length && captionWidth(`${chars.join('').trimEnd()}…`, fontSize) > width) chars.pop();
  return chars.length ? `${chars.join('').trimEnd()}…` : '';
}

/** Greedy word wrap into at most `maxLines` lines of `width`; the last line is ellipsized. */
export function wrapCaption(text: string, width: number, fontSize: number, maxLines = MAX_CAPTION_LINES): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  let i = 0;
  for (; i < words.length && lines.length < maxLines; i++) {
    const next = line ? `${line} ${words[i]}` : words[i];
    if (captionWidth(next, fontSize) <= width) {
      line = next;
      continue;
    }
    if (line) {
      lines.push(line);
      line = '';
      i--; // place this word on the next line
      continue;
    }
    // a single word wider than the line: cut it
    lines.push(ellipsize(words[i], width, fontSize));
  }
  if (line && lines.length < maxLines) lines.push(line);
  else if (line || i < words.length) {
    // more text than lines: the last line ends in an ellipsis
    const rest = [lines.pop() ?? '', line, ...words.slice(i)].filter(Boolean).join(' ');
    lines.push(ellipsize(rest, width, fontSize));
  }
  return lines.filter((l) => l !== '');
}

/**
 * Where everything of a contact sheet goes (pure: tested without drawing). The caption band under
 * each cell is as wide as the cell and tall enough for the longest wrapped caption of the sheet
 * (up to three lines); neighbouring bands are `gap` apart, so labels cannot overlap.
 */
export function contactSheetLayout(captions: readonly string[] | null, count: number, opts: { columns?: number; cell: number; gap: number }): SheetLayout {
  const n = count;
  const columns = Math.max(1, Math.min(n, Math.floor(opts.columns ?? Math.ceil(Math.sqrt(n)))));
  const rows = Math.ceil(n / columns);
  const { cell, gap } = opts;
  const fontSize = Math.max(8, Math.min(24, Math.round(cell / 10)));
  const pad = Math.max(1, Math.round(fontSize * 0.2));
  const textWidth = Math.max(1, cell - 2 * pad);
  const wrapped = captions ? captions.map((c) => wrapCaption(c, textWidth, fontSize)) : [];
  const lineH = Math.round(fontSize * LINE_HEIGHT_EM);
  const maxLines = wrapped.reduce((m, l) => Math.max(m, l.length), 0);
  const captionH = captions ? Math.max(1, maxLines) * lineH + 2 * pad : 0;
  const width = gap + columns * (cell + gap);
  const height = gap + rows * (cell + captionH + gap);
  const cells: Box[] = [];
  const labels: SheetLabel[] = [];
  for (let i = 0; i < n; i++) {
    const x = gap + (i % columns) * (cell + gap);
    const y = gap + Math.floor(i / columns) * (cell + captionH + gap);
    cells.push({ x, y, width: cell, height: cell });
    if (captions) {
      const box = { x, y: y + cell, width: cell, height: captionH };
      const lines = wrapped[i].map((text, k) => {
        const w = Math.min(textWidth, captionWidth(text, fontSize));
        return { text, box: { x: x + (cell - w) / 2, y: box.y + pad + k * lineH, width: w, height: lineH } };
      });
      labels.push({ box, lines });
    }
  }
  return { width, height, fontSize, cells, labels };
}

/**
 * A grid of the samples' images as PNG bytes. Images are scaled to fit a `cellSize` square, or
 * by exactly `upscale` (nearest neighbour: these are small pixel images); captions are wrapped and
 * drawn by librsvg from one SVG overlay, each clipped to its own box, every string XML-escaped.
 */
export async function contactSheet(samples: readonly ExportSample[], opts: ContactSheetOptions = {}): Promise<Uint8Array> {
  checkSamples(samples);
  const n = samples.length;
  const upscale = opts.upscale === undefined ? undefined : upscaleFactor(opts.upscale);
  const largest = samples.reduce((m, s) => Math.max(m, s.record.width || 0, s.record.height || 0), 0);
  const cell = Math.max(8, Math.min(2048, Math.floor(upscale && largest > 0 ? largest * upscale : (opts.cellSize ?? 128))));
  const gap = Math.max(0, Math.min(256, Math.floor(opts.gap ?? 8)));
  const captions = opts.captions ?? true;
  const layout = contactSheetLayout(captions ? samples.map((s) => captionOf(s.record)) : null, n, { columns: opts.columns, cell, gap });
  const { width, height, fontSize } = layout;
  if (width * height > MAX_SHEET_PIXELS) throw new ExportError('too_large', `A ${width}x${height} sheet is too large; use fewer columns or a smaller cell size.`);
  const background = opts.background ?? '#ffffff';
  const layers: OverlayOptions[] = [];
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    checkAborted(opts.signal);
    const c = layout.cells[i];
    const src = await readSource(samples[i].absFile);
    let img: Buffer;
    if (upscale) {
      const up = await nearestUpscale(src, upscale);
      const meta = await sharp(up).metadata();
      const w = meta.width ?? cell;
      const h = meta.height ?? cell;
      // exact multiple, centred; an image larger than the cell (mixed sizes) is cut to it
      img = await sharp(up).flatten({ background }).extract({ left: Math.max(0, Math.floor((w - cell) / 2)), top: Math.max(0, Math.floor((h - cell) / 2)), width: Math.min(w, cell), height: Math.min(h, cell) }).png().toBuffer();
      layers.push({ input: img, left: c.x + Math.max(0, Math.floor((cell - w) / 2)), top: c.y + Math.max(0, Math.floor((cell - h) / 2)) });
    } else {
      img = await sharp(src).resize(cell, cell, { fit: 'contain', kernel: 'nearest', background }).flatten({ background }).png().toBuffer();
      layers.push({ input: img, left: c.x, top: c.y });
    }
    if (captions) {
      const { box, lines } = layout.labels[i];
      const spans = lines
        .map((l) => `<text x="${box.x + box.width / 2}" y="${(l.box.y + fontSize).toFixed(1)}" text-anchor="middle">${xmlEscape(l.text)}</text>`)
        .join('');
      texts.push(`<clipPath id="c${i}"><rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}"/></clipPath><g clip-path="url(#c${i})">${spans}</g>`);
    }
    opts.onProgress?.({ phase: 'images', done: i + 1, total: n });
  }
  if (captions) {
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<g font-family="DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace" font-size="${fontSize}" fill="#222222">${texts.join('')}</g></svg>`;
    layers.push({ input: Buffer.from(svg, 'utf8'), left: 0, top: 0 });
  }
  checkAborted(opts.signal);
  const out = await sharp({ create: { width, height, channels: 3, background } })
    .composite(layers)
    .png({ compressionLevel: 9 })
    .toBuffer();
  return new Uint8Array(out);
}

// ------------------------------------------------------------------ frames: animation and strip

function checkFrames(frames: readonly Uint8Array[], width: number, height: number): void {
  if (!Array.isArray(frames) || frames.length === 0) throw new ExportError('bad_input', 'No frames.');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 4096 || height > 4096) {
    throw new ExportError('bad_input', `Bad frame size ${width}x${height}.`);
  }
  frames.forEach((f, i) => {
    if (!(f instanceof Uint8Array) || f.length !== width * height * 3) {
      throw new ExportError('bad_input', `Frame ${i} must be ${width}x${height} RGB (${width * height * 3} bytes), got ${f?.length ?? typeof f}.`);
    }
  });
}

function intScale(scale: number | undefined): number {
  const s = Math.floor(scale ?? 1);
  if (!Number.isFinite(s) || s < 1 || s > 64) throw new ExportError('bad_input', `scale must be an integer from 1 to 64 (got ${scale}).`);
  return s;
}

/** Nearest-neighbour integer upscale (factor `s`) of one RGB frame into `out` (row stride `outStride` pixels) at (x0, y0). */
function upscaleInto(src: Uint8Array, w: number, h: number, s: number, out: Uint8Array, outStride: number, x0: number, y0: number): void {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const si = (y * w + x) * 3;
      for (let dy = 0; dy < s; dy++) {
        let o = ((y0 + y * s + dy) * outStride + x0 + x * s) * 3;
        for (let dx = 0; dx < s; dx++, o += 3) {
          out[o] = src[si];
          out[o + 1] = src[si + 1];
          out[o + 2] = src[si + 2];
        }
      }
    }
  }
}

export interface AnimationOptions {
  format: 'gif' | 'webp';
  /** delay per frame in ms (default 100); `lastFrameDelayMs` holds the final image longer */
  delayMs?: number;
  lastFrameDelayMs?: number;
  /** integer nearest-neighbour upscale (default 1) */
  scale?: number;
  /** 0 = loop forever (default) */
  loop?: number;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
}

const MAX_ANIMATION_BYTES = 512 * 1024 * 1024;

/**
 * An animated GIF or WebP of a denoising trajectory (predicted x0 or x_t per step), frames as
 * interleaved RGB. The frames are stacked into one tall raw image with `pageHeight`, which sharp
 * encodes as pages of an animation. WebP is lossless; GIF is palette-quantised by libvips/cgif.
 */
export async function denoisingAnimation(frames: readonly Uint8Array[], width: number, height: number, opts: AnimationOptions): Promise<Uint8Array> {
  checkFrames(frames, width, height);
  const s = intScale(opts.scale);
  const W = width * s;
  const H = height * s;
  const total = W * H * 3 * frames.length;
  if (total > MAX_ANIMATION_BYTES) throw new ExportError('too_large', 'Too many or too large frames; lower the scale or the frame count.');
  const delay = Math.max(10, Math.min(60_000, Math.round(opts.delayMs ?? 100)));
  const delays = frames.map((_, i) => (i === frames.length - 1 && opts.lastFrameDelayMs !== undefined ? Math.max(10, Math.min(60_000, Math.round(opts.lastFrameDelayMs))) : delay));
  const tall = new Uint8Array(total);
  for (let i = 0; i < frames.length; i++) {
    checkAborted(opts.signal);
    upscaleInto(frames[i], width, height, s, tall, W, 0, i * H);
    opts.onProgress?.({ phase: 'images', done: i + 1, total: frames.length });
  }
  checkAborted(opts.signal);
  const img = sharp(Buffer.from(tall.buffer, tall.byteOffset, tall.byteLength), { raw: { width: W, height: H * frames.length, channels: 3, pageHeight: H } });
  const loop = Math.max(0, Math.min(65_535, Math.floor(opts.loop ?? 0)));
  const out = opts.format === 'gif' ? await img.gif({ loop, delay: delays }).toBuffer() : await img.webp({ lossless: true, loop, delay: delays }).toBuffer();
  checkAborted(opts.signal);
  return new Uint8Array(out);
}

export interface StripOptions {
  scale?: number;
  /** pixels between frames (default 0) */
  gap?: number;
  /** gap colour as [r, g, b] (default white) */
  background?: [number, number, number];
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
}

/** Interpolation frames side by side as one PNG (a "video-like" strip). */
export async function interpolationStrip(frames: readonly Uint8Array[], width: number, height: number, opts: StripOptions = {}): Promise<Uint8Array> {
  checkFrames(frames, width, height);
  const s = intScale(opts.scale);
  const gap = Math.max(0, Math.min(256, Math.floor(opts.gap ?? 0)));
  const W = frames.length * width * s + (frames.length - 1) * gap;
  const H = height * s;
  if (W * H * 3 > MAX_ANIMATION_BYTES || W > 65_535) throw new ExportError('too_large', 'The strip would be too large; lower the scale or the frame count.');
  const out = new Uint8Array(W * H * 3);
  const [r, g, b] = opts.background ?? [255, 255, 255];
  if (gap > 0) for (let p = 0; p < W * H; p++) (out[p * 3] = r), (out[p * 3 + 1] = g), (out[p * 3 + 2] = b);
  for (let i = 0; i < frames.length; i++) {
    checkAborted(opts.signal);
    upscaleInto(frames[i], width, height, s, out, W, i * (width * s + gap), 0);
    opts.onProgress?.({ phase: 'images', done: i + 1, total: frames.length });
  }
  checkAborted(opts.signal);
  return new Uint8Array(await encodePng(out, W, H));
}
