/**
 * Export for pixel art (issue 15 item 6): nearest-neighbour upscale ×1…×16 that keeps the embedded
 * recipe, and a contact sheet whose captions never overlap at any cell size.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  captionWidth,
  contactSheet,
  contactSheetLayout,
  exportFolder,
  exportImageBytes,
  exportZip,
  type Box,
  type ExportSample,
} from '../../../src-main/gallery/export';
import { embedSampleMetadata, readSampleMetadata } from '../../../src-main/gallery/metadata';
import { makePng, readZip, rgbPattern, sampleRecord } from './helpers';

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sfumato-pixel-test-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function sample(i: number, w = 5, h = 3, withMeta = true): Promise<ExportSample> {
  const record = sampleRecord({ id: `smp_px${i}`, seed: 7 + i, file: `samples/smp_px${i}.png`, width: w, height: h });
  const png = await makePng(w, h, 40 + i);
  const absFile = path.join(tmp, `smp_px${i}.png`);
  await fs.writeFile(absFile, withMeta ? embedSampleMetadata(png, record) : png);
  return { record, absFile };
}

/** Every source pixel is an n×n block of the same colour in `png`. */
async function expectBlocks(png: Uint8Array, src: Uint8Array, w: number, h: number, n: number): Promise<void> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([w * n, h * n]);
  for (let y = 0; y < h * n; y++) {
    for (let x = 0; x < w * n; x++) {
      const o = (y * w * n + x) * 3;
      const s = (Math.floor(y / n) * w + Math.floor(x / n)) * 3;
      if (data[o] !== src[s] || data[o + 1] !== src[s + 1] || data[o + 2] !== src[s + 2]) {
        throw new Error(`pixel (${x},${y}) is ${[data[o], data[o + 1], data[o + 2]]}, source (${Math.floor(x / n)},${Math.floor(y / n)}) is ${[src[s], src[s + 1], src[s + 2]]}`);
      }
    }
  }
}

describe('upscale on export', () => {
  it('turns each source pixel into an n×n block and keeps the parameters and sfumato chunks', async () => {
    for (const withMeta of [true, false]) {
      const s = await sample(withMeta ? 1 : 2, 5, 3, withMeta);
      for (const n of [1, 2, 3, 16]) {
        const png = await exportImageBytes(s, 'png', n);
        await expectBlocks(png, rgbPattern(5, 3, withMeta ? 41 : 42), 5, 3, n);
        const meta = readSampleMetadata(png);
        expect(meta.record?.id).toBe(s.record.id);
        expect(meta.record?.seed).toBe(s.record.seed);
        expect(meta.parametersText).toContain(`Seed: ${s.record.seed}`);
      }
    }
  });

  it('refuses factors outside 1..16 with a message naming upscale', async () => {
    const s = await sample(3);
    for (const bad of [0, 17, 2.5, -1, Number.NaN]) await expect(exportImageBytes(s, 'png', bad)).rejects.toThrow(/upscale must be a whole number from 1 to 16/);
  });

  it('applies to folder and zip exports and is recorded in the manifest', async () => {
    const samples = [await sample(4), await sample(5)];
    const res = await exportFolder(samples, path.join(tmp, 'out'), { upscale: 4 });
    expect(res.manifest.upscale).toBe(4);
    const first = new Uint8Array(await fs.readFile(path.join(tmp, 'out', res.manifest.items[0].file)));
    await expectBlocks(first, rgbPattern(5, 3, 44), 5, 3, 4);
    const manifest = JSON.parse(await fs.readFile(path.join(tmp, 'out', 'manifest.json'), 'utf8'));
    expect(manifest.upscale).toBe(4);
    const z = await exportZip(samples, path.join(tmp, 'x.zip'), { upscale: 2, format: 'webp' });
    const entries = readZip(new Uint8Array(await fs.readFile(z.path)));
    const webp = entries.get(z.manifest.items[1].file)!;
    expect(await sharp(webp).metadata().then((m) => [m.format, m.width, m.height])).toEqual(['webp', 10, 6]);
    expect(JSON.parse(new TextDecoder().decode(entries.get('manifest.json'))).upscale).toBe(2);
    const plain = await exportFolder(samples, path.join(tmp, 'plain'));
    expect(plain.manifest.upscale).toBeUndefined();
  });

  it('draws contact sheet cells at exactly size × upscale', async () => {
    const samples = [await sample(6, 4, 4), await sample(7, 4, 4)];
    const png = await contactSheet(samples, { upscale: 3, gap: 2, captions: false, background: '#000000' });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([2 + 2 * (12 + 2), 2 + 12 + 2]);
    const src = rgbPattern(4, 4, 47);
    // sample 1: cell at x = 2 + 14; its source pixel (1, 2) covers x 3..5, y 6..8 of the cell
    for (const [dx, dy] of [[3, 6], [5, 8], [4, 7]]) {
      const o = ((2 + dy) * info.width + 16 + dx) * info.channels;
      expect(Array.from(data.subarray(o, o + 3))).toEqual(Array.from(src.subarray((2 * 4 + 1) * 3, (2 * 4 + 1) * 3 + 3)));
    }
  });
});

const intersects = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Box, b: Box) => a.x >= b.x - 1e-9 && a.y >= b.y - 1e-9 && a.x + a.width <= b.x + b.width + 1e-9 && a.y + a.height <= b.y + b.height + 1e-9;

describe('contact sheet labels', () => {
  const long = [
    'seed 4294967295 · dpmpp_2m_sde_karras_with_a_very_long_name · 1000 steps',
    'seed 1 · euler · 30 steps',
    'seed 123456789 · ' + 'x'.repeat(300) + ' · 12 steps',
    'seed 9 · 試験用のとても長いサンプラーの名前 · 50 steps',
    'seed 77 · heun · 8 steps',
  ];

  it('never overlap and stay inside their own band, at every cell size and column count', () => {
    for (const cell of [8, 12, 16, 32, 48, 64, 100, 128, 256, 512]) {
      for (const gap of [0, 1, 8]) {
        for (const columns of [1, 2, 5]) {
          const layout = contactSheetLayout(long, long.length, { cell, gap, columns });
          const boxes = layout.labels.map((l) => l.box);
          const lineBoxes = layout.labels.flatMap((l) => l.lines.map((x) => x.box));
          for (let i = 0; i < boxes.length; i++) {
            for (let j = i + 1; j < boxes.length; j++) expect(intersects(boxes[i], boxes[j]), `cell ${cell} gap ${gap} cols ${columns}: labels ${i} and ${j}`).toBe(false);
            for (const c of layout.cells) expect(intersects(boxes[i], c)).toBe(false);
            for (const line of layout.labels[i].lines) {
              expect(inside(line.box, boxes[i]), `cell ${cell}: "${line.text}" leaves its band`).toBe(true);
              // the measured text fits its line box (no box was shrunk to hide an overflow)
              expect(captionWidth(line.text, layout.fontSize)).toBeLessThanOrEqual(line.box.width + 1e-9);
            }
          }
          for (let i = 0; i < lineBoxes.length; i++) for (let j = i + 1; j < lineBoxes.length; j++) expect(intersects(lineBoxes[i], lineBoxes[j])).toBe(false);
          expect(boxes.every((b) => b.x + b.width <= layout.width && b.y + b.height <= layout.height)).toBe(true);
        }
      }
    }
  });

  it('wraps a caption that does not fit and grows the band instead of spilling sideways', () => {
    const layout = contactSheetLayout(['seed 1 · euler · 30 steps'], 1, { cell: 64, gap: 4 });
    expect(layout.labels[0].lines.length).toBeGreaterThan(1);
    expect(layout.labels[0].lines.map((l) => l.text).join(' ')).toBe('seed 1 · euler · 30 steps');
    expect(layout.labels[0].box.height).toBeGreaterThanOrEqual(layout.labels[0].lines.length * layout.fontSize);
    const cut = contactSheetLayout(['seed 1 · ' + 'y'.repeat(500)], 1, { cell: 64, gap: 4 });
    expect(cut.labels[0].lines.length).toBeLessThanOrEqual(3);
    expect(cut.labels[0].lines.at(-1)!.text.endsWith('…')).toBe(true);
  });

  it('renders a sheet with long labels', async () => {
    const samples = await Promise.all([0, 1, 2, 3, 4].map((i) => sample(10 + i, 16, 16)));
    samples.forEach((s, i) => (s.record = { ...s.record, sampler: long[i].split(' · ')[1] as never, seed: Number(long[i].split(' ')[1]) }));
    const png = await contactSheet(samples, { columns: 3, cellSize: 48, gap: 4 });
    const layout = contactSheetLayout(samples.map((s) => `seed ${s.record.seed} · ${s.record.sampler} · ${s.record.steps} steps`), 5, { columns: 3, cell: 48, gap: 4 });
    expect(await sharp(png).metadata().then((m) => [m.width, m.height])).toEqual([layout.width, layout.height]);
    if (process.env.SFUMATO_KEEP_SHEET) await fs.writeFile(process.env.SFUMATO_KEEP_SHEET, png);
    // nothing is drawn in the gaps between label bands (the gutter columns stay background)
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    for (const b of layout.labels.map((l) => l.box)) {
      for (let y = b.y; y < b.y + b.height; y++) {
        for (const x of [b.x - 1, b.x + b.width]) {
          if (x < 0 || x >= info.width) continue;
          const o = (y * info.width + x) * info.channels;
          expect(Array.from(data.subarray(o, o + 3)), `pixel (${x},${y}) in a gutter`).toEqual([255, 255, 255]);
        }
      }
    }
  });
});
