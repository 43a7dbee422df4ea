/**
 * X/Y grids (issue 15, item 5) in a real browser against web mode: on the Sample page, a 2×2 grid
 * (seed × sampler) of a model is made; it is saved to the gallery as a record of kind 'grid' with
 * its axes, its PNG has the label band (ink above the cells), its four cells are gallery samples
 * tagged with the grid, and the result opens in the Lightbox. Screenshot to test-results/screens/.
 */
import { mkdirSync, promises as fs } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridLayout } from '../../src-main/gallery/grid';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, startStudio } from './harness';

const SCREENS = join(RESULTS, 'screens');
let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];

describe('X/Y grid', () => {
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    ({ libraryDir, service, server, browser, page } = await startStudio('sfumato-xy-', { width: 1440, height: 900 }, consoleErrors));
    await page.goto(server.url);
    await page.getByTestId('nav-sample').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('X/Y grid saved with labelled axes', async () => {
    const models = (await service!.api['models:list']({})).models;
    expect(models.length).toBeGreaterThan(0);
    const model = models[0];
    await page.getByTestId('nav-sample').click();
    await page.getByTestId('sample-source').selectOption(`model:${model.id}`);
    await page.getByTestId('sample-sampler').selectOption('ddim');
    await page.getByTestId('sample-steps').fill('4');
    await page.getByTestId('xy-x-kind').selectOption('seed');
    await page.getByTestId('xy-x-values').fill('3, 4');
    await page.getByTestId('xy-y-kind').selectOption('sampler');
    await page.getByTestId('xy-y-pick-ddim').check();
    await page.getByTestId('xy-y-pick-euler').check();
    await expect.poll(() => page.getByTestId('xy-make').textContent()).toContain('4 cells');
    await page.getByTestId('xy-make').click();
    const result = page.getByTestId('xy-result');
    await result.waitFor({ timeout: 180_000 });
    const gridId = await result.getAttribute('data-sample-id');

    // In the gallery: the grid record with its axes, and its four cells tagged with it.
    const rec = (await service!.api['gallery:get']({ id: gridId! })).sample;
    expect(rec.kind).toBe('grid');
    expect(rec.grid?.recipe).toMatchObject({ base: { sampler: 'ddim', steps: 4 }, x: { kind: 'seed', values: [3, 4] }, y: { kind: 'sampler', values: ['ddim', 'euler'] } });
    const tagged = await service!.api['gallery:query']({ tag: `grid:${gridId}` });
    expect(tagged.total).toBe(5);
    expect(rec.grid?.cells).toHaveLength(4);

    // The PNG: the layout's size, and ink in the label band above the cells (the axis labels).
    const size = model.trainConfig.imageSize;
    const layout = gridLayout({ imageSize: size, xTitle: 'Seed', yTitle: 'Sampler', xValues: ['3', '4'], yValues: ['ddim', 'euler'] });
    const png = await fs.readFile(service!.library.abs(rec.file));
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([layout.width, layout.height]);
    let ink = 0;
    for (let y = 0; y < layout.top.height; y++) for (let x = 0; x < info.width; x++) if (data[(y * info.width + x) * 3] < 128) ink++;
    expect(ink).toBeGreaterThan(50);
    let leftInk = 0;
    for (let y = layout.left.y; y < layout.left.y + layout.left.height; y++) for (let x = 0; x < layout.left.width; x++) if (data[(y * info.width + x) * 3] < 128) leftInk++;
    expect(leftInk).toBeGreaterThan(20);

    // The grid shown on the page opens in the Lightbox.
    await page.screenshot({ path: join(SCREENS, 'xy-grid.png') });
    await result.click();
    await page.getByTestId('lightbox').waitFor();
    await page.keyboard.press('Escape');
    expect(consoleErrors).toEqual([]);
  });
});
