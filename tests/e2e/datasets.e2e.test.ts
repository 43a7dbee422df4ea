/**
 * The Datasets page in web mode: the folder picker (HOME pointed at a temporary folder holding the
 * fixture images), import, the images at training size, excluding one image (the count drops) and
 * renaming the dataset. The service runs in this process, so HOME is set here.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebServer } from '../../src-main/server/http';
import type { Sfumato } from '../../src-main/services/sfumato';
import { RESULTS, ROOT, startStudio } from './harness';

const EMOJI = join(ROOT, 'tests', 'fixtures', 'images', 'emoji');
let libraryDir: string | undefined;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let home = '';
const oldHome = process.env.HOME;
const consoleErrors: string[] = [];

describe('Datasets page (web mode)', () => {
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'sfumato-e2e-home-'));
    const art = join(home, 'art', 'faces');
    mkdirSync(art, { recursive: true });
    mkdirSync(join(home, '.hidden-stuff'));
    for (const f of readdirSync(EMOJI).filter((x) => x.endsWith('.png')).slice(0, 5)) {
      copyFileSync(join(EMOJI, f), join(art, f));
      writeFileSync(join(art, f.replace(/\.png$/, '.txt')), 'a caption');
    }
    process.env.HOME = home;
    ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-e2e-ds-', { width: 1280, height: 900 }, consoleErrors));
  });

  afterAll(async () => {
    if (page) await page.screenshot({ path: join(RESULTS, 'e2e-datasets-page.png'), fullPage: true }).catch(() => undefined);
    await context?.close();
    await browser?.close();
    await server?.close();
    await service?.close();
    process.env.HOME = oldHome;
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('browses to a folder in the home folder and imports it; captions are counted, not reported', async () => {
    await page.goto(server!.url + '#/datasets');
    await page.getByTestId('browse-button').click();
    const entries = page.getByTestId('folder-entry');
    await entries.first().waitFor();
    expect(await entries.allTextContents()).toEqual([expect.stringContaining('art')]);
    await entries.first().click();
    await page.getByTestId('folder-entry').filter({ hasText: 'faces' }).click();
    await expect.poll(() => page.getByTestId('folder-path').textContent()).toContain('5 images here');
    await page.getByTestId('folder-choose').click();
    expect(await page.getByTestId('dataset-dir').inputValue()).toBe(join(home, 'art', 'faces'));
    await page.getByTestId('import-button').click();
    await page.getByTestId('import-summary').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('import-summary').textContent()).toBe('Imported 5 images, 0 problems. 5 caption files found: captions are not used for training yet.');
    await expect.poll(() => page.getByTestId('dataset-thumb').count(), { timeout: 10_000 }).toBe(5);
    // The images as the model sees them: the prepared cache, served as PNG data URLs at training size.
    await expect.poll(() => page.getByTestId('dataset-thumb').first().getAttribute('src'), { timeout: 10_000 }).toMatch(/^data:image\/png;base64,/);
  });

  it('excludes one image: the count drops, and including it again restores it', async () => {
    expect(await page.getByTestId('dataset-count').textContent()).toContain('5 images used for training');
    await page.getByTestId('dataset-thumb').nth(1).click();
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toContain('4 images used for training, 1 excluded');
    await expect.poll(() => page.getByTestId('dataset-item').first().textContent()).toContain('4 images (1 excluded)');
    const [d] = await service!.datasets.list();
    expect(d.itemCount).toBe(4);
    await page.getByTestId('dataset-thumb').nth(1).click();
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toContain('5 images used for training');
    await page.getByTestId('dataset-thumb').nth(1).click();
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toContain('1 excluded');
  });

  it('renames the dataset inline', async () => {
    await page.getByTestId('dataset-rename').click();
    await page.getByTestId('dataset-name').fill('Smiling faces');
    await page.getByTestId('dataset-rename-save').click();
    await expect.poll(() => page.getByTestId('dataset-item').first().textContent()).toContain('Smiling faces');
    expect((await service!.datasets.list())[0].name).toBe('Smiling faces');
    expect(consoleErrors).toEqual([]);
  });
});
