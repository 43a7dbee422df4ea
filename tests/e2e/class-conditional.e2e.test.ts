/**
 * Class conditioning in a real browser against web mode (issue 14, item 1): the Datasets page lists
 * the classes of a folder imported with subfolder labels and merges two of them; on the Sample page
 * a class-conditional run offers a class picker and a guidance slider, and the images made carry
 * the class and CFG scale. Screenshot to test-results/screens/.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, ROOT, startStudio, tinyTrainConfig } from './harness';

const EMOJI = join(ROOT, 'tests', 'fixtures', 'images', 'emoji');
const SCREENS = join(RESULTS, 'screens');
let libraryDir: string;
let folder = '';
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];

describe('class-conditional studio (web mode)', () => {
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    folder = await mkdtemp(join(tmpdir(), 'sfumato-e2e-classes-'));
    const classes: Record<string, string[]> = { animals: ['cat-face', 'dog-face', 'fox-face', 'owl'], food: ['doughnut', 'red-apple', 'tangerine'], plants: ['hibiscus', 'cherry-blossom'] };
    for (const [c, files] of Object.entries(classes)) {
      mkdirSync(join(folder, c));
      for (const f of files) copyFileSync(join(EMOJI, `${f}.png`), join(folder, c, `${f}.png`));
    }
    ({ libraryDir, service, server, browser, page } = await startStudio('sfumato-e2e-cc-', { width: 1280, height: 900 }, consoleErrors));
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('the Datasets page lists the classes and merges one into another', async () => {
    await service!.api['datasets:import']({ dir: folder, imageSize: 8, labels: 'subfolders', name: 'kinds' });
    await page.goto(server!.url + '#/datasets');
    await page.getByTestId('dataset-item').filter({ hasText: 'kinds' }).click();
    const rows = page.getByTestId('dataset-class');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.first().textContent()).toContain('4 images');
    await rows.filter({ hasText: 'plants' }).getByTestId('dataset-class-rename').click();
    await page.getByTestId('dataset-class-name').fill('food');
    expect(await page.getByTestId('dataset-class-save').textContent()).toBe('Merge');
    await page.getByTestId('dataset-class-save').click();
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.filter({ hasText: 'food' }).textContent()).toContain('5 images');
  });

  it('the Sample page offers the classes of a class-conditional run and records class and guidance', async () => {
    const ds = (await service!.api['datasets:list']({})).datasets[0];
    const { run } = await service!.api['runs:start']({ datasetId: ds.id, seed: 3, config: { ...tinyTrainConfig(2), classConditional: true } });
    await service!.runs.finished(run.id);
    await page.goto(server!.url + '#/sample');
    await page.getByTestId('sample-source').selectOption(`run:${run.id}`);
    const cls = page.getByTestId('sample-class');
    await cls.waitFor();
    expect(await cls.locator('option').allTextContents()).toEqual(['None (unconditional)', 'animals', 'food']);
    await cls.selectOption('food');
    await page.getByTestId('sample-guidance').fill('2.5');
    await page.getByTestId('sample-count').fill('2');
    await page.getByTestId('sample-steps').fill('3');
    await page.getByTestId('sample-generate').click();
    const tag = page.getByTestId('sample-result-class');
    await expect.poll(() => tag.count(), { timeout: 120_000 }).toBe(2);
    expect(await tag.first().textContent()).toBe('food · CFG 2.5');
    await page.getByTestId('sample-conditioning').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENS, 'class-conditional-sample.png') });
    const { samples } = await service!.api['gallery:query']({});
    expect(samples[0].guidance).toEqual({ class: 'food', classIndex: 1, scale: 2.5 });


    // an X/Y grid of the model's classes x guidance scales, from the same page
    await page.getByTestId('xy-x-kind').selectOption('class');
    await page.getByTestId('xy-x-pick-animals').check();
    await page.getByTestId('xy-x-pick-food').check();
    await page.getByTestId('xy-y-kind').selectOption('guidance');
    await page.getByTestId('xy-y-values').fill('1, 3');
    await expect.poll(() => page.getByTestId('xy-make').textContent()).toContain('4 cells');
    await page.getByTestId('xy-make').click();
    const result = page.getByTestId('xy-result');
    await result.waitFor({ timeout: 120_000 });
    const gridRec = (await service!.api['gallery:get']({ id: (await result.getAttribute('data-sample-id'))! })).sample;
    expect(gridRec.grid?.recipe?.x).toEqual({ kind: 'class', values: ['animals', 'food'] });
    const cells = await Promise.all(gridRec.grid!.cells!.map(async (id) => (await service!.api['gallery:get']({ id })).sample.guidance));
    expect(cells.map((g) => [g?.class, g?.scale])).toEqual([
      ['animals', 1],
      ['food', 1],
      ['animals', 3],
      ['food', 3],
    ]);
    expect(consoleErrors).toEqual([]);
  }, 300_000);
});
