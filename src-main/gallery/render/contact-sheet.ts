/** The contact sheet: a grid of thumbnails with captions (moved whole from gallery/export.ts; its file comment has the safety rules). */
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import type { SampleRecord } from '../../api/types';
import { checkAborted } from '../atomic';
import { ExportError } from '../export/names';
import type { ExportProgress, ExportSample } from '../export/manifest';
import { checkSamples, MAX_SHEET_PIXELS, nearestUpscale, readSource, upscaleFactor, xmlEscape } from '../export/images';

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
