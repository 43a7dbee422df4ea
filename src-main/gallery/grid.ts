/**
 * The X/Y grid image: every cell's sample upscaled nearest-neighbour (pixel art stays crisp and
 * the labels fit), laid out by the contact sheet's layout (contactSheetLayout: one column per X
 * value, a caption band under each cell), with a band on top for the X axis title and its values
 * and a band on the left for the Y axis title and its values. Pure layout (`gridLayout`, tested
 * without drawing) and one drawing function (`composeGrid`).
 */
import sharp, { type OverlayOptions } from 'sharp';
import { captionWidth, contactSheetLayout, wrapCaption, xmlEscape, type Box, type SheetLayout } from './export';

export interface GridLabel {
  /** the band this label may draw in (also its clip) */
  box: Box;
  lines: { text: string; box: Box }[];
  /** what it labels: an axis title, or one value of an axis */
  role: 'x-title' | 'y-title' | 'x-value' | 'y-value';
}

export interface GridLayout {
  width: number;
  height: number;
  fontSize: number;
  /** nearest-neighbour factor of each cell image */
  scale: number;
  /** cell boxes in row-major order (y outer), in image coordinates */
  cells: Box[];
  /** each cell's caption ("x value · y value") under it */
  captions: SheetLayout['labels'];
  /** axis titles and value labels in the top and left bands */
  labels: GridLabel[];
  /** the label bands: top (x) and left (y) */
  top: Box;
  left: Box;
}

/** Integer upscale that makes a cell at least 128 px (at most 16x): labels stay readable. */
export function gridScale(imageSize: number): number {
  return Math.max(1, Math.min(16, Math.ceil(128 / Math.max(1, imageSize))));
}

function shift(b: Box, dx: number, dy: number): Box {
  return { x: b.x + dx, y: b.y + dy, width: b.width, height: b.height };
}

/** Lines of `text` wrapped into `box` at `fontSize`, each centred (or left-aligned) in it. */
function place(text: string, box: Box, fontSize: number, lineH: number, pad: number, align: 'center' | 'left', maxLines = 2): GridLabel['lines'] {
  const inner = Math.max(1, box.width - 2 * pad);
  const lines = wrapCaption(text, inner, fontSize, maxLines);
  const top = box.y + Math.max(pad, (box.height - lines.length * lineH) / 2);
  return lines.map((t, k) => {
    const w = Math.min(inner, captionWidth(t, fontSize));
    const x = align === 'center' ? box.x + (box.width - w) / 2 : box.x + pad;
    return { text: t, box: { x, y: top + k * lineH, width: w, height: lineH } };
  });
}

/**
 * Where everything of a grid image goes. `xValues` and `yValues` are the value labels, in order;
 * the titles name the axes. Cells are the contact sheet's, moved right and down by the bands.
 */
export function gridLayout(opts: { imageSize: number; xTitle: string; yTitle: string; xValues: readonly string[]; yValues: readonly string[]; gap?: number }): GridLayout {
  const nx = opts.xValues.length;
  const ny = opts.yValues.length;
  const scale = gridScale(opts.imageSize);
  const cell = opts.imageSize * scale;
  const gap = opts.gap ?? 8;
  const captions = opts.yValues.flatMap((yv) => opts.xValues.map((xv) => `${xv} · ${yv}`));
  const sheet = contactSheetLayout(captions, nx * ny, { columns: nx, cell, gap });
  const { fontSize } = sheet;
  const lineH = Math.round(fontSize * 1.25);
  const pad = Math.max(1, Math.round(fontSize * 0.2));
  // Left band: wide enough for the longest Y value or title (up to about two cells), at least 4 em.
  const longest = Math.max(captionWidth(`${opts.yTitle} ↓`, fontSize), ...opts.yValues.map((v) => captionWidth(v, fontSize)));
  const leftW = Math.ceil(Math.min(2 * cell, Math.max(4 * fontSize, longest)) + 2 * pad + gap);
  // Top band: the X title line, then the value line (each up to two lines).
  const titleH = 2 * lineH + 2 * pad;
  const valueH = 2 * lineH + 2 * pad;
  const topH = titleH + valueH;
  const labels: GridLabel[] = [];
  const cells = sheet.cells.map((b) => shift(b, leftW, topH));
  const captionBoxes = sheet.labels.map((l) => ({ box: shift(l.box, leftW, topH), lines: l.lines.map((ln) => ({ text: ln.text, box: shift(ln.box, leftW, topH) })) }));
  const gridW = sheet.width;
  const xTitleBox = { x: leftW, y: 0, width: gridW, height: titleH };
  labels.push({ role: 'x-title', box: xTitleBox, lines: place(`${opts.xTitle} →`, xTitleBox, fontSize, lineH, pad, 'center') });
  for (let i = 0; i < nx; i++) {
    const c = cells[i];
    const box = { x: c.x, y: titleH, width: c.width, height: valueH };
    labels.push({ role: 'x-value', box, lines: place(opts.xValues[i], box, fontSize, lineH, pad, 'center') });
  }
  const yTitleBox = { x: 0, y: 0, width: leftW - gap, height: topH };
  labels.push({ role: 'y-title', box: yTitleBox, lines: place(`${opts.yTitle} ↓`, { ...yTitleBox, y: titleH, height: valueH }, fontSize, lineH, pad, 'left') });
  for (let j = 0; j < ny; j++) {
    const c = cells[j * nx];
    const box = { x: 0, y: c.y, width: leftW - gap, height: c.height };
    labels.push({ role: 'y-value', box, lines: place(opts.yValues[j], box, fontSize, lineH, pad, 'left', 3) });
  }
  return {
    width: leftW + sheet.width,
    height: topH + sheet.height,
    fontSize,
    scale,
    cells,
    captions: captionBoxes,
    labels,
    top: { x: 0, y: 0, width: leftW + sheet.width, height: topH },
    left: { x: 0, y: topH, width: leftW, height: sheet.height },
  };
}

/**
 * Draws the grid: `cells` are interleaved RGB images of `imageSize` squared, row-major; the
 * labels are drawn by librsvg from one SVG overlay, each clipped to its band, every string
 * XML-escaped. Returns PNG bytes (no metadata yet).
 */
export async function composeGrid(cells: readonly Uint8Array[], imageSize: number, layout: GridLayout, background = '#ffffff'): Promise<Uint8Array> {
  const layers: OverlayOptions[] = [];
  for (let i = 0; i < cells.length; i++) {
    const c = layout.cells[i];
    const img = await sharp(Buffer.from(cells[i].buffer, cells[i].byteOffset, cells[i].byteLength), { raw: { width: imageSize, height: imageSize, channels: 3 } })
      .resize(c.width, c.height, { kernel: 'nearest' })
      .png()
      .toBuffer();
    layers.push({ input: img, left: c.x, top: c.y });
  }
  const fs = layout.fontSize;
  const texts: string[] = [];
  const all = [...layout.captions.map((l) => ({ ...l, bold: false })), ...layout.labels.map((l) => ({ ...l, bold: l.role.endsWith('title') }))];
  all.forEach((l, k) => {
    const spans = l.lines
      .map((ln) => `<text x="${(ln.box.x).toFixed(1)}" y="${(ln.box.y + fs).toFixed(1)}"${l.bold ? ' font-weight="bold"' : ''}>${xmlEscape(ln.text)}</text>`)
      .join('');
    texts.push(`<clipPath id="g${k}"><rect x="${l.box.x}" y="${l.box.y}" width="${l.box.width}" height="${l.box.height}"/></clipPath><g clip-path="url(#g${k})">${spans}</g>`);
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
    `<g font-family="DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace" font-size="${fs}" fill="#222222">${texts.join('')}</g></svg>`;
  layers.push({ input: Buffer.from(svg, 'utf8'), left: 0, top: 0 });
  const out = await sharp({ create: { width: layout.width, height: layout.height, channels: 3, background } })
    .composite(layers)
    .png({ compressionLevel: 9 })
    .toBuffer();
  return new Uint8Array(out);
}
