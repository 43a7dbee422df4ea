/**
 * The studio in a real browser (web mode, Debian Chromium): the first-run flow in a fresh library
 * (timed), every page loading without console errors (a screenshot each, test-results/ui-*.png),
 * a custom schedule drawn on the Schedules page and recorded by a training run, the gallery's
 * virtual grid scrolling 10,000 records (frame times measured in the page), and keyboard navigation.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, startStudio, tinyTrainConfig } from './harness';
import type { SampleRecord } from '../../src-main/api/types';

const GALLERY_ROWS = 10_000;

// In-page callbacks run in the browser; this file compiles without the DOM lib (module-scoped).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const requestAnimationFrame: (cb: (now: number) => void) => number;
type HTMLElement = any;

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const consoleErrors: string[] = [];
const timings: Record<string, number | string> = {};

function shot(name: string): Promise<Buffer> {
  return page.screenshot({ path: join(RESULTS, `ui-${name}.png`) });
}

async function goto(hash: string, heading: string | RegExp): Promise<void> {
  await page.getByTestId(`nav-${hash}`).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

describe('the studio (web mode)', () => {
  beforeAll(async () => {
    ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-studio-', { width: 1280, height: 800 }, consoleErrors));
    // The theme follows the OS until picked; headless Chromium reports light, this test starts dark.
    await page.emulateMedia({ colorScheme: 'dark' });
  });

  afterAll(async () => {
    console.log(`studio e2e timings: ${JSON.stringify(timings)}`);
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('first run: one button in an empty library gives four images within a minute', async () => {
    await page.goto(server!.url);
    const button = page.getByTestId('first-run-button');
    await button.waitFor();
    await shot('home-empty');
    const models = (await service!.api['models:list']({})).models;
    timings.firstRunPath = models.length ? `bundled model ${models[0].id}` : 'fallback: demo dataset + 60-step training';
    const t0 = Date.now();
    await button.click();
    const images = page.getByTestId('first-run-image');
    const deadline = Date.now() + 120_000;
    for (;;) {
      if ((await images.count()) === 4) break;
      const err = page.getByTestId('first-run-error');
      if (await err.isVisible()) throw new Error(`First run failed: ${await err.textContent()}`);
      if (Date.now() > deadline) throw new Error('No first images after 120 s');
      await page.waitForTimeout(200);
    }
    await expect
      .poll(() => images.evaluateAll((els) => els.every((e) => (e as unknown as { complete: boolean; naturalWidth: number }).complete && (e as unknown as { naturalWidth: number }).naturalWidth > 0)))
      .toBe(true);
    const seconds = (Date.now() - t0) / 1000;
    timings.firstRunSeconds = Math.round(seconds * 10) / 10;
    await page.getByTestId('train-own-link').waitFor();
    await shot('home-first-images');
    expect(seconds).toBeLessThan(60);
  });

  it('every page loads without console errors (screenshots in test-results/ui-*.png)', async () => {
    // With a bundled model the first run imports no dataset; the pages below want one.
    if ((await service!.api['datasets:list']({})).datasets.length === 0) {
      const info = await service!.api['system:info']({});
      await service!.importDataset({ dir: info.demoDatasetDir!, imageSize: 16, name: 'Demo emoji' });
    }
    // The Train page shows a run's charts; bundled models are models, not runs, so train a tiny one.
    if ((await service!.api['runs:list']({})).runs.length === 0) {
      const ds = (await service!.api['datasets:list']({})).datasets[0]!;
      const started = await service!.startRun({ datasetId: ds.id, seed: 1, config: tinyTrainConfig(2) });
      await started.done;
    }
    const pages: [string, string | RegExp][] = [
      ['datasets', 'Datasets'],
      ['schedules', 'Schedules'],
      ['train', 'Train'],
      ['sample', 'Sample'],
      ['gallery', 'Gallery'],
      ['models', 'Models'],
      ['playground', 'Sampler lab'],
      ['system', 'System'],
      ['home', 'Studio'],
    ];
    for (const [id, heading] of pages) {
      await goto(id, heading);
      await page.waitForTimeout(400);
      if (id === 'datasets') {
        await page.getByTestId('dataset-item').first().click();
        await page.getByTestId('dataset-thumb').first().waitFor();
      }
      if (id === 'schedules') await page.getByTestId('noise-strip').waitFor();
      if (id === 'train') await page.getByTestId('loss-chart').waitFor();
      if (id === 'playground') {
        await page.getByTestId('lab-run').click();
        await page.getByTestId('lab-done').waitFor({ timeout: 60_000 });
        await page.getByTestId('lab-headline').waitFor();
      }
      await shot(id);
    }
    // The light theme, persisted across a reload.
    await page.getByTestId('theme-toggle').click();
    await goto('train', 'Train');
    await page.reload();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.getByTestId('loss-chart').waitFor();
    await shot('train-light');
    await page.getByTestId('theme-toggle').click();
    expect(consoleErrors).toEqual([]);
  });

  it('a custom log-SNR schedule, saved on the Schedules page, is recorded by a training run', async () => {
    await goto('schedules', 'Schedules');
    await page.getByTestId('sched-edit-custom').click();
    const pts = page.getByTestId('logsnr-point');
    await expect.poll(() => pts.count()).toBe(5);
    // Drag the middle point up: still a valid (decreasing) curve.
    const box = (await pts.nth(2).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 4, { steps: 4 });
    await page.mouse.up();
    expect(await page.getByTestId('sched-error').count()).toBe(0);
    // Push it past its left neighbour with the keyboard: clamped just below it, the curve stays valid.
    await pts.nth(2).focus();
    for (let i = 0; i < 12; i++) await page.keyboard.press('Shift+ArrowUp');
    await page.waitForTimeout(200);
    expect(await page.getByTestId('sched-error').count()).toBe(0);
    await shot('schedules-clamped');
    for (let i = 0; i < 12; i++) await page.keyboard.press('Shift+ArrowDown');
    await expect.poll(() => page.getByTestId('sched-error').count()).toBe(0);
    await page.getByTestId('sched-name').fill('soft-middle');
    await page.getByTestId('sched-save').click();

    await goto('train', 'Train');
    await page.getByText('Advanced settings').click();
    await page.getByTestId('train-schedule').selectOption('named:soft-middle');
    await page.getByLabel('Steps', { exact: true }).fill('2');
    await page.getByLabel('Checkpoint every (steps)', { exact: true }).fill('2');
    await page.getByLabel('Preview every (steps)', { exact: true }).fill('0');
    const shownBefore = (await page.getByTestId('live-run-id').textContent().catch(() => '')) ?? '';
    await page.getByTestId('train-start').click();
    await expect.poll(async () => (await page.getByTestId('live-run-id').textContent())?.trim(), { timeout: 30_000 }).not.toBe(shownBefore.trim());
    const runId = (await page.getByTestId('live-run-id').textContent())!.trim();
    const status = page.locator('[data-testid="live-run"] [data-testid="run-status"]');
    await expect.poll(() => status.textContent(), { timeout: 120_000 }).toBe('completed');
    const { run } = await service!.api['runs:get']({ id: runId });
    expect(run.config.schedule).toMatchObject({ kind: 'discrete', beta: 'custom' });
    expect((run.config.schedule as unknown as { logSnrPoints: unknown[] }).logSnrPoints).toHaveLength(5);

    // Export ONNX… of the run's checkpoint: in web mode the browser downloads the .onnx file.
    await page.getByTestId('run-export-onnx').click({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId('onnx-export-download').click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${runId}-step2\\.onnx$`));
    await expect.poll(() => page.getByTestId('onnx-export-downloaded').count(), { timeout: 30_000 }).toBe(1);
    await page.keyboard.press('Escape');
  });

  it(`scrolls a gallery of ${GALLERY_ROWS} images with a median frame time under 20 ms`, async () => {
    // Seed rows straight into the store, reusing the first-run PNGs.
    const { samples } = await service!.api['gallery:query']({ limit: 4 });
    expect(samples.length).toBeGreaterThan(0);
    const t0 = Date.now();
    const base = Date.parse('2024-01-01T00:00:00Z');
    await service!.store.db.transaction(async () => {
      for (let i = 0; i < GALLERY_ROWS; i++) {
        const src: SampleRecord = samples[i % samples.length];
        const { createdAt: _c, ...rest } = src;
        void _c;
        await service!.store.samples.insert({ ...rest, id: `smp_seed${String(i).padStart(6, '0')}`, seed: 100_000 + i, parentId: null, createdAt: new Date(base + i * 1000).toISOString() });
      }
    });
    timings.seedRowsMs = Date.now() - t0;
    await goto('home', 'Studio');
    await goto('gallery', 'Gallery');
    await expect.poll(() => page.getByTestId('gallery-total').textContent()).toBe(String(GALLERY_ROWS + samples.length));
    await page.waitForTimeout(500);
    const stats = await page.evaluate(async () => {
      const el = document.querySelector('[data-testid="gallery-scroller"]') as HTMLElement;
      const deltas: number[] = [];
      const speed = 2400; // px per second: a brisk fling, new rows every frame
      const start = performance.now();
      let last = start;
      await new Promise<void>((done) => {
        const tick = (now: number) => {
          deltas.push(now - last);
          last = now;
          el.scrollTop = ((now - start) / 1000) * speed;
          if (now - start < 4000 && el.scrollTop + el.clientHeight < el.scrollHeight) requestAnimationFrame(tick);
          else done();
        };
        requestAnimationFrame(tick);
      });
      deltas.shift();
      const sorted = [...deltas].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
      return { frames: deltas.length, median: q(0.5), p95: q(0.95), max: sorted[sorted.length - 1], scrolled: el.scrollTop, domTiles: document.querySelectorAll('[data-testid="gallery-item"]').length };
    });
    timings.galleryFrames = stats.frames;
    timings.galleryMedianMs = Math.round(stats.median * 100) / 100;
    timings.galleryP95Ms = Math.round(stats.p95 * 100) / 100;
    timings.galleryMaxMs = Math.round(stats.max * 100) / 100;
    timings.galleryDomTiles = stats.domTiles;
    console.log(`gallery scroll: ${JSON.stringify(stats)}`);
    expect(stats.domTiles).toBeLessThan(400);
    expect(stats.median).toBeLessThan(20);
    await shot('gallery-10k');
  });

  it('gallery keyboard: arrows move, Enter opens, F favourites, Delete trashes with undo', async () => {
    const scroller = page.getByTestId('gallery-scroller');
    await scroller.evaluate((el) => ((el as unknown as { scrollTop: number }).scrollTop = 0));
    await page.waitForTimeout(200);
    await page.getByTestId('gallery-item').first().getByRole('button').focus();
    const focusedIndex = () => page.evaluate(() => Number(document.activeElement?.closest('[data-index]')?.getAttribute('data-index')));
    expect(await focusedIndex()).toBe(0);
    await page.keyboard.press('ArrowRight');
    await expect.poll(focusedIndex).toBe(1);
    const cols = await page.evaluate(() => {
      const items = [...document.querySelectorAll('[data-testid="gallery-item"]')] as HTMLElement[];
      const top = items[0].getBoundingClientRect().top;
      return items.filter((e) => e.getBoundingClientRect().top === top).length;
    });
    await page.keyboard.press('ArrowDown');
    await expect.poll(focusedIndex).toBe(1 + cols);
    await page.keyboard.press('Enter');
    const detail = page.getByTestId('gallery-detail');
    await detail.waitFor();
    // The open detail narrows the grid; moving on with the arrows shows the record under the cursor.
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focusedIndex).toBe(cols);
    const detailId = () => detail.locator('dd').first().textContent();
    const focusedSeed = await page.evaluate(() => document.activeElement?.closest('[data-index]')?.querySelector('[data-testid="sample-seed"]')?.textContent?.trim());
    await expect.poll(async () => (await detail.getByRole('heading', { level: 2 }).textContent())?.trim()).toBe(`Seed ${focusedSeed}`);
    const id = (await detailId())!.trim();
    await page.keyboard.press('f');
    await expect.poll(async () => (await service!.api['gallery:meta']({ id })).meta.favorite).toBe(true);
    await shot('gallery-detail');
    const before = Number(await page.getByTestId('gallery-total').textContent());
    await page.keyboard.press('Delete');
    // the trash toast's Undo (a job-finished toast may be up too, with its own action)
    const undo = page.getByTestId('toast-action').filter({ hasText: /undo/i });
    await undo.waitFor();
    await expect.poll(() => page.getByTestId('gallery-total').textContent()).toBe(String(before - 1));
    expect((await service!.api['gallery:meta']({ id })).meta.deletedAt).not.toBeNull();
    await undo.click();
    await expect.poll(() => page.getByTestId('gallery-total').textContent()).toBe(String(before));
    expect((await service!.api['gallery:meta']({ id })).meta.deletedAt).toBeNull();
    // after a click outside the grid, keys are no longer the grid's: Delete trashes nothing
    await page.getByTestId('gallery-total').click();
    await page.keyboard.press('Delete');
    await page.waitForTimeout(300);
    expect(await page.getByTestId('gallery-total').textContent()).toBe(String(before));
    expect(consoleErrors).toEqual([]);
  });
});
