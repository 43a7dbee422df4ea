/**
 * End to end in a real browser: Sfumato's web mode (service + HTTP/WebSocket server, real SQLite,
 * real job processes) driven through the built UI in Debian's Chromium. Import the emoji fixture
 * folder at 16 px, train a tiny UNet for 3 steps, sample 4 images with a fixed seed, and see them
 * in the gallery. Screenshots of every page land in test-results/.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, ROOT, startStudio } from './harness';

const FIXTURE = join(ROOT, 'tests', 'fixtures', 'images', 'emoji');

const SEED = 4242;
const COUNT = 4;

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const consoleErrors: string[] = [];

function shot(name: string): Promise<Buffer> {
  return page.screenshot({ path: join(RESULTS, name), fullPage: true });
}

/** The origin of the web server, without the token. */
function origin(): string {
  return new URL(server!.url).origin;
}

/** Wait for the run shown on the Train page to reach `want`; fail early with the page's error text. */
async function waitForRunStatus(want: string, timeoutMs: number): Promise<void> {
  const status = page.locator('[data-testid="live-run"] [data-testid="run-status"]');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = (await status.textContent())?.trim();
    if (now === want) return;
    if (now === 'failed' || now === 'cancelled' || now === 'interrupted') {
      const err = await page.getByTestId('run-error').textContent().catch(() => null);
      throw new Error(`The run ended "${now}" instead of "${want}": ${err ?? '(no error shown)'}`);
    }
    if (Date.now() > deadline) throw new Error(`The run did not reach "${want}" within ${timeoutMs} ms (status "${now}").`);
    await page.waitForTimeout(250);
  }
}

/** Fail with the inline error the page shows, if any, else wait for `selector` to appear `count` times. */
async function waitForCount(testid: string, count: number, errorTestid: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await page.getByTestId(testid).count();
    if (n === count) return;
    const err = page.getByTestId(errorTestid);
    if (await err.isVisible()) throw new Error(`The page shows an error: ${await err.textContent()}`);
    if (Date.now() > deadline) throw new Error(`Expected ${count} × ${testid}, saw ${n} after ${timeoutMs} ms.`);
    await page.waitForTimeout(250);
  }
}

/** Every element with this test id is, or holds, an <img> that has loaded (no broken images). */
async function allImagesLoaded(testid: string): Promise<boolean> {
  // Runs in the page; typed structurally because this file compiles without the DOM lib.
  type Img = { tagName: string; complete: boolean; naturalWidth: number };
  type El = Img & { querySelector(sel: string): Img | null };
  return page.getByTestId(testid).evaluateAll((els: El[]) =>
    els.every((el) => {
      const img = el.tagName === 'IMG' ? el : el.querySelector('img');
      return !!img && img.complete && img.naturalWidth > 0;
    }),
  );
}

describe('Sfumato in a browser (web mode)', () => {
  beforeAll(async () => {
    ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-e2e-', { width: 1280, height: 900 }, consoleErrors));
  });

  // A failing step leaves a picture of the page behind, e.g. test-results/e2e-failed-4.png.
  let stepNo = 0;
  beforeEach(({ onTestFailed }) => {
    const n = ++stepNo;
    onTestFailed(async () => {
      await page?.screenshot({ path: join(RESULTS, `e2e-failed-${n}.png`), fullPage: true }).catch(() => undefined);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('refuses the API without the token, but serves the UI', async () => {
    // A separate context: no token in its URL or session storage.
    const stranger = await browser!.newContext();
    try {
      const p = await stranger.newPage();
      await p.goto(origin() + '/');
      const status = await p.evaluate(async () => (await fetch('/api/system/info', { method: 'POST' })).status);
      expect(status).toBe(401);
      const wsRefused = await p.evaluate(
        (host) =>
          new Promise<boolean>((done) => {
            const ws = new WebSocket(`ws://${host}/api/events`);
            ws.onopen = () => done(false);
            ws.onerror = () => done(true);
          }),
        new URL(server!.url).host,
      );
      expect(wsRefused).toBe(true);
      // The UI itself loads (static assets are public) and says why the API refuses it.
      await p.getByRole('alert').filter({ hasText: 'token' }).first().waitFor({ timeout: 15_000 });
    } finally {
      await stranger.close();
    }
  });

  it('loads the app with its status strip', async () => {
    await page.goto(server!.url);
    // An empty library opens on Home with the one first-run button.
    await page.getByTestId('first-run-button').waitFor();
    await expect.poll(() => page.getByTestId('status-library').textContent()).toBe(service!.library.root);
    expect((await page.getByTestId('status-backend').textContent())?.trim()).toMatch(/^(tensorflow|webgpu|onnxruntime|wasm|cpu)$/);
    for (const tab of ['Home', 'Datasets', 'Schedules', 'Train', 'Sample', 'Gallery', 'Sampler lab', 'System']) {
      await page.getByRole('link', { name: tab, exact: true }).waitFor();
    }
    await page.getByTestId('nav-datasets').click();
    await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
  });

  it('shows a service error inline, with the message the service sent', async () => {
    // Its own tab: the browser logs the failed request (HTTP 400) to that tab's console, not to the
    // console this file checks for errors.
    const tab = await context!.newPage();
    try {
      await tab.goto(server!.url + '#/datasets');
      await tab.getByLabel('Folder path', { exact: true }).fill(join(libraryDir, 'no-such-folder'));
      await tab.getByTestId('import-button').click();
      const err = tab.getByTestId('import-error');
      await err.waitFor({ timeout: 15_000 });
      expect(await err.getAttribute('role')).toBe('alert');
      expect(await err.textContent()).toContain('no-such-folder');
      expect(await tab.getByTestId('import-button').isEnabled()).toBe(true);
    } finally {
      await tab.close();
    }
  });

  it('imports the fixture folder at 16 px, with thumbnails and the non-image as a problem', async () => {
    await page.getByLabel('Folder path', { exact: true }).fill(FIXTURE);
    await page.getByLabel('Image size', { exact: true }).selectOption('16');
    // Preview of the preprocessing first: before/after pairs, nothing imported yet.
    await page.getByTestId('preview-button').click();
    await expect.poll(() => page.locator('[data-testid="dataset-preview"] figure').count(), { timeout: 20_000 }).toBe(4);
    expect(await page.getByTestId('preview-error').isVisible().catch(() => false)).toBe(false);
    expect(await page.getByTestId('dataset-item').count()).toBe(0);
    await page.getByTestId('import-button').click();
    await page.getByTestId('import-summary').waitFor({ timeout: 60_000 }).catch(async (e: Error) => {
      const err = await page.getByTestId('import-error').textContent().catch(() => null);
      throw new Error(err ? `Import failed in the UI: ${err}` : e.message);
    });
    expect(await page.getByTestId('import-summary').textContent()).toBe('Imported 13 images, 1 problem.');
    await waitForCount('dataset-thumb', 13, 'import-error', 10_000);
    await expect.poll(() => allImagesLoaded('dataset-thumb'), { timeout: 10_000 }).toBe(true);
    const problems = page.getByTestId('problem-row');
    expect(await problems.count()).toBe(1);
    expect(await problems.first().locator('td').first().textContent()).toBe('NOTICE.md');
    expect(await problems.first().getByTestId('problem-code').textContent()).toBe('unsupported');
    expect(await page.getByTestId('dataset-item').count()).toBe(1);
    expect(await page.getByTestId('dataset-stats').textContent()).toContain('13 images');
    expect(await page.locator('[data-testid="dataset-augment"] img.mirrored').count()).toBe(6);
    await expect.poll(() => page.locator('[data-testid="dataset-palette"] .swatch').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await shot('e2e-datasets.png');
  });

  it('trains a tiny model for 3 steps and shows it completed', async () => {
    await page.getByTestId('nav-train').click();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    expect(page.url()).toContain('#/train');
    const datasetId = await page.getByLabel('Dataset', { exact: true }).inputValue();
    expect(datasetId).toMatch(/^ds_/);
    await page.getByLabel('Steps', { exact: true }).fill('3');
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Batch size', { exact: true }).fill('4');
    await page.getByLabel('Base channels', { exact: true }).fill('8');
    await page.getByLabel('Channel multipliers', { exact: true }).fill('1,2');
    await page.getByLabel('Attention at resolutions', { exact: true }).fill('none');
    await page.getByLabel('GroupNorm groups', { exact: true }).fill('4');
    await page.getByLabel('Learning rate', { exact: true }).fill('0.001');
    await page.getByLabel('Checkpoint every (steps)', { exact: true }).fill('3');
    await page.getByLabel('Seed (optional)', { exact: true }).fill('1234');
    await page.getByTestId('train-start').click();
    await page.getByTestId('live-run-id').waitFor({ timeout: 30_000 }).catch(async (e: Error) => {
      const err = await page.getByTestId('train-error').textContent().catch(() => null);
      throw new Error(err ? `Starting the run failed in the UI: ${err}` : e.message);
    });
    expect(await page.getByTestId('live-run-id').textContent()).toMatch(/^run_/);
    await waitForRunStatus('completed', 120_000);
    expect(await page.getByTestId('train-step').textContent()).toBe('3 / 3');
    expect(await page.getByTestId('train-loss').textContent()).toMatch(/^\d/);
    const row = page.getByTestId('run-row').first();
    await expect.poll(() => row.getByTestId('run-status').textContent()).toBe('completed');
    await shot('e2e-train.png');
  });

  it(`samples ${COUNT} images with seed ${SEED}`, async () => {
    await page.getByTestId('nav-sample').click();
    await page.getByRole('heading', { name: 'Sample', level: 1 }).waitFor();
    // The default is the best available model (the bundled one beats a 3-step run): choose the run.
    const model = page.getByLabel('Model', { exact: true });
    await expect.poll(() => model.locator('option[value^="run:run_"]').count()).toBe(1);
    await model.selectOption((await model.locator('option[value^="run:run_"]').getAttribute('value'))!);
    await page.getByLabel('Sampler', { exact: true }).selectOption('ddim');
    await page.getByLabel('Steps', { exact: true }).fill('5');
    await page.getByLabel('Seed', { exact: true }).fill(String(SEED));
    await page.getByLabel('Batch size', { exact: true }).fill(String(COUNT));
    await page.getByTestId('sample-generate').click();
    await waitForCount('sample-result', COUNT, 'sample-error', 90_000);
    await expect.poll(() => allImagesLoaded('sample-result'), { timeout: 10_000 }).toBe(true);
    const seeds = await page.getByTestId('sample-result').getByTestId('sample-seed').allTextContents();
    expect(seeds.map(Number)).toEqual(Array.from({ length: COUNT }, (_, i) => SEED + i));
    await shot('e2e-sample.png');
  });

  it('shows the samples in the gallery with their parameters', async () => {
    await page.getByTestId('nav-gallery').click();
    await page.getByRole('heading', { name: 'Gallery', level: 1 }).waitFor();
    await waitForCount('gallery-item', COUNT, 'gallery-error', 15_000);
    await expect.poll(() => allImagesLoaded('gallery-item'), { timeout: 10_000 }).toBe(true);
    const seeds = (await page.getByTestId('gallery-item').getByTestId('sample-seed').allTextContents()).map(Number);
    expect([...seeds].sort((a, b) => a - b)).toEqual(Array.from({ length: COUNT }, (_, i) => SEED + i));
    await shot('e2e-gallery.png');

    // Clicking an image shows every field of its record.
    await page.getByTestId('gallery-item').first().getByRole('button').click();
    const detail = page.getByTestId('gallery-detail');
    await detail.getByText('checkpoint sha256').waitFor();
    expect(await detail.textContent()).toContain('ddim');
    await shot('e2e-gallery-detail.png');
    await page.getByTestId('gallery-detail-close').click();
    await expect.poll(() => detail.isVisible()).toBe(false);
  });

  it('logged no errors in the page console', () => {
    expect(consoleErrors).toEqual([]);
  });
});
