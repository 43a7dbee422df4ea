/** Export types and the manifest (manifest.json, manifest.csv) (moved whole from gallery/export.ts; its file comment has the safety rules). */
import path from 'node:path';
import type { SampleRecord } from '../../api/types';

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
