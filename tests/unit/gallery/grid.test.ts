/** The X/Y grid image's layout (pure) and its drawing: label bands, readable labels, no overlaps, crisp cells. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { captionWidth, type Box } from '../../../src-main/gallery/export';
import { composeGrid, gridLayout, gridScale } from '../../../src-main/gallery/grid';
import { embedSampleMetadata, readSampleMetadata } from '../../../src-main/gallery/metadata';
import { makePng, sampleRecord } from './helpers';

const inside = (a: Box, b: Box) => a.x >= b.x - 0.01 && a.y >= b.y - 0.01 && a.x + a.width <= b.x + b.width + 0.01 && a.y + a.height <= b.y + b.height + 0.01;
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('grid layout', () => {
  it('upscales small images to at least 128 px cells, at most 16x', () => {
    expect([gridScale(8), gridScale(32), gridScale(64), gridScale(256), gridScale(4)]).toEqual([16, 4, 2, 1, 16]);
  });

  const layout = gridLayout({ imageSize: 32, xTitle: 'Seed', yTitle: 'Sampler', xValues: ['1', '2', '3'], yValues: ['ddim', 'dpmpp-2m'] });

  it('puts the cells after a top band (X labels) and a left band (Y labels), in row-major order', () => {
    expect(layout.cells).toHaveLength(6);
    expect(layout.cells[0].width).toBe(128);
    expect(layout.cells[0].x).toBeGreaterThanOrEqual(layout.left.width);
    expect(layout.cells[0].y).toBeGreaterThanOrEqual(layout.top.height);
    expect(layout.cells[1].y).toBe(layout.cells[0].y);
    expect(layout.cells[3].x).toBe(layout.cells[0].x);
    expect(layout.cells[3].y).toBeGreaterThan(layout.cells[0].y + 128);
  });

  it('labels each axis and each value where it belongs, readable and without overlaps', () => {
    const byRole = (r: string) => layout.labels.filter((l) => l.role === r);
    expect(byRole('x-title')[0].lines.map((l) => l.text)).toEqual(['Seed →']);
    expect(byRole('y-title')[0].lines.map((l) => l.text)).toEqual(['Sampler ↓']);
    expect(byRole('x-value').map((l) => l.lines[0].text)).toEqual(['1', '2', '3']);
    expect(byRole('y-value').map((l) => l.lines[0].text)).toEqual(['ddim', 'dpmpp-2m']);
    expect(layout.fontSize).toBeGreaterThanOrEqual(12);
    const whole = { x: 0, y: 0, width: layout.width, height: layout.height };
    for (const l of layout.labels) {
      expect(inside(l.box, whole)).toBe(true);
      for (const ln of l.lines) expect(inside(ln.box, l.box)).toBe(true);
      for (const c of layout.cells) expect(overlap(l.box, c)).toBe(false);
    }
    // each X value sits over its own column; each Y value beside its own row
    byRole('x-value').forEach((l, i) => expect(l.box.x).toBe(layout.cells[i].x));
    byRole('y-value').forEach((l, j) => expect(l.box.y).toBe(layout.cells[j * 3].y));
    // a value label is not cut when it fits: "dpmpp-2m" is shown whole
    expect(captionWidth('dpmpp-2m', layout.fontSize)).toBeLessThanOrEqual(layout.left.width);
  });

  it('draws crisp nearest-neighbour cells and ink in the label bands', async () => {
    const small = gridLayout({ imageSize: 8, xTitle: 'Steps', yTitle: 'Seed', xValues: ['4', '8'], yValues: ['1'] });
    const red = new Uint8Array(8 * 8 * 3).map((_, i) => (i % 3 === 0 ? 255 : 0));
    red.set([0, 0, 255], (7 * 8 + 7) * 3); // the last pixel blue
    const png = await composeGrid([red, red], 8, small);
    const { data, info } = await sharp(Buffer.from(png)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([small.width, small.height]);
    const px = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    const c = small.cells[1];
    expect(px(c.x, c.y)).toEqual([255, 0, 0]);
    expect(px(c.x + c.width - 1, c.y + c.height - 1)).toEqual([0, 0, 255]);
    expect(px(c.x + c.width - 17, c.y + c.height - 17)).toEqual([255, 0, 0]);
    let ink = 0;
    for (let y = 0; y < small.top.height; y++) for (let x = 0; x < info.width; x++) if (px(x, y)[1] < 128) ink++;
    expect(ink).toBeGreaterThan(20);
  });
});

describe('grid records in the PNG', () => {
  const recipe = { base: { checkpointId: 'ckpt_a', seed: 1, sampler: 'ddim' as const, steps: 4, options: {} }, x: { kind: 'seed' as const, values: [1, 2] }, y: { kind: 'sampler' as const, values: ['ddim', 'euler'] } };

  it('a grid record (kind, recipe, cells) and a cell (grid id, position) read back whole', async () => {
    const png = await makePng();
    const grid = sampleRecord({ kind: 'grid', grid: { id: 'grid_a', recipe, cells: ['smp_1', 'smp_2', 'smp_3', 'smp_4'] } });
    const m = readSampleMetadata(embedSampleMetadata(png, grid));
    expect(m.problems).toEqual([]);
    expect(m.record).toMatchObject({ kind: 'grid', grid: grid.grid });
    const cell = readSampleMetadata(embedSampleMetadata(png, sampleRecord({ grid: { id: 'grid_a', x: 1, y: 0 } })));
    expect(cell.problems).toEqual([]);
    expect(cell.record?.grid).toEqual({ id: 'grid_a', x: 1, y: 0 });
  });

  it('a malformed grid field is reported by name, and the rest of the record is kept', async () => {
    const png = await makePng();
    const bad = sampleRecord({ grid: { id: 'grid_a', recipe: { ...recipe, x: { kind: 'lora-scale' as never, values: [1] } } } });
    const m = readSampleMetadata(embedSampleMetadata(png, bad));
    expect(m.record).toBeUndefined();
    expect(m.problems.join('\n')).toMatch(/record\.grid recipe\.x kind must be one of seed, sampler/);
    expect(m.partial?.seed).toBe(bad.seed);
  });
});
