/**
 * Knowing when work ends (issue 15, item 3), in a real browser against web mode: while a training
 * run goes, the nav rail shows it with its percent and the tab title shows `(n%) Sfumato`; when it
 * ends with the user elsewhere, a toast offers "Sample this run" (which opens the Sample page with
 * the run selected), a desktop Notification is shown (permission granted to the context; the
 * constructor is wrapped to record calls), and the title shows `✓ Sfumato` until the user comes
 * back. A short sampling job gets its "Open in gallery" toast but no notification. Without a
 * decision on the permission, the app offers it on the first long job (never on page load), and a
 * browser "no" is remembered: no second offer after a reload.
 *
 * "The user is elsewhere" is simulated by an init script: `document.hasFocus()` follows
 * `window.__away` (headless Chromium has no window focus to lose).
 */
import { rm } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import type { Run } from '../../src-main/api/types';
import { RESULTS, startStudio, tinyTrainConfig } from './harness';

const SCREENS = join(RESULTS, 'screens');

/**
 * Records every Notification constructed, every window title and every job status the rail shows
 * (so a fast run cannot slip between two polls); `document.hasFocus()` answers `!window.__away`.
 */
const INIT_SCRIPT = `
  window.__notes = [];
  window.__away = false;
  window.__titles = [];
  window.__statuses = [];
  new MutationObserver(() => {
    const push = (list, v) => { if (list[list.length - 1] !== v) list.push(v); };
    push(window.__titles, document.title);
    for (const el of document.querySelectorAll('[data-testid="job-item"]')) {
      const s = el.querySelector('[data-testid="job-status"]');
      push(window.__statuses, el.dataset.runId + ' ' + (s ? s.textContent : ''));
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  Document.prototype.hasFocus = function () { return !window.__away; };
  if (typeof window.Notification === 'function') {
    const Real = window.Notification;
    window.Notification = class extends Real {
      constructor(title, options) {
        window.__notes.push({ title, body: options && options.body });
        super(title, options);
      }
    };
  }
`;

/** Long enough (a few seconds) for the indicator to be seen mid-run; tiny enough to stay fast. */
const TRAIN = tinyTrainConfig(24);

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let datasetId: string;
const consoleErrors: string[] = [];

type Note = { title: string; body?: string };
const notes = (p: Page) => p.evaluate('window.__notes') as Promise<Note[]>;

async function waitForRunEnd(id: string): Promise<Run> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { run } = await service!.api['runs:get']({ id });
    if (!['queued', 'running'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`Run ${id} still ${run.status} after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('knowing when work ends (web mode)', () => {
  beforeAll(async () => {
    ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-notify-', { width: 1280, height: 800 }, consoleErrors));
    mkdirSync(SCREENS, { recursive: true });
    await context.grantPermissions(['notifications'], { origin: new URL(server.url).origin });
    await page.addInitScript({ content: INIT_SCRIPT });
    const info = await service.api['system:info']({});
    datasetId = (await service.importDataset({ dir: info.demoDatasetDir!, imageSize: 16, name: 'Demo emoji 16' })).dataset.id;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('training: rail indicator with %, title badge, toast → Sample page with the run, a desktop notification', async () => {
    await page.goto(server!.url);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    expect(await page.title()).toBe('Sfumato');
    expect(await page.getByTestId('job-indicator').count()).toBe(0);
    await page.getByTestId('nav-datasets').click();
    await page.evaluate('window.__away = true');

    const { run } = await service!.api['runs:start']({ datasetId, seed: 3, config: TRAIN });
    // Running, with a percent in the rail and in the title.
    const item = page.locator(`[data-testid="job-item"][data-run-id="${run.id}"]`);
    const running = new RegExp(`^${run.id} \\d+%$`);
    await expect.poll(() => page.evaluate('window.__statuses') as Promise<string[]>, { timeout: 60_000, interval: 50 }).toContainEqual(expect.stringMatching(running));
    // The screenshot, best at a percent above 0 (a picture only: the run may already be over).
    await expect.poll(() => item.getByTestId('job-status').textContent().catch(() => ''), { timeout: 10_000, interval: 50 }).toMatch(/^[1-9]\d*%$/).catch(() => undefined);
    if (await item.isVisible()) await page.locator('aside.rail').screenshot({ path: join(SCREENS, 'nav-rail-running-job.png') });
    expect(await page.evaluate('window.__titles')).toContainEqual(expect.stringMatching(/^\(\d+%\) Sfumato$/));

    // It ends: the indicator goes, a toast offers to sample the run, the title has the ✓ badge.
    await expect.poll(() => page.getByTestId('job-indicator').count(), { timeout: 120_000, interval: 100 }).toBe(0);
    expect((await waitForRunEnd(run.id)).status).toBe('completed');
    const toast = page.getByTestId('toast').filter({ hasText: `Training ${run.id} finished` });
    await toast.waitFor();
    expect(await toast.getByTestId('toast-action').textContent()).toBe('Sample this run');
    expect(await page.title()).toBe('✓ Sfumato');
    await page.screenshot({ path: join(SCREENS, 'training-finished-toast.png') });

    // The desktop notification, shown because the job was long and the user was elsewhere.
    await expect.poll(() => notes(page), { timeout: 10_000 }).toEqual([{ title: 'Training finished', body: `${run.id} finished 24 steps. Open Sfumato to sample it.` }]);

    // Coming back clears the badge.
    await page.evaluate(`window.__away = false; window.dispatchEvent(new Event('focus'));`);
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe('Sfumato');

    await toast.getByTestId('toast-action').click();
    await page.getByRole('heading', { name: 'Sample', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('sample-source').inputValue(), { timeout: 10_000 }).toBe(`run:${run.id}`);
    expect(page.url()).toMatch(/#\/sample$/);
    expect(consoleErrors).toEqual([]);
  });

  it('sampling: a toast with "Open in gallery"; a short job, so no desktop notification', async () => {
    await page.getByTestId('nav-train').click();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    const runId = (await service!.api['runs:list']({})).runs.find((r) => r.datasetId === datasetId)!.id;
    const before = (await notes(page)).length;
    const { samples } = await service!.api['sample:generate']({ runId, count: 2, seed: 1, sampler: 'dpmpp-2m', steps: 3 });
    expect(samples).toHaveLength(2);
    const toast = page.getByTestId('toast').filter({ hasText: 'Sampling finished: 2 images in the gallery.' });
    await toast.waitFor({ timeout: 30_000 });
    expect(await toast.getByTestId('toast-action').textContent()).toBe('Open in gallery');
    await toast.getByTestId('toast-action').click();
    await page.getByRole('heading', { name: 'Gallery', level: 1 }).waitFor();
    expect((await notes(page)).length).toBe(before);
    expect(consoleErrors).toEqual([]);
  });

  it('without a decision: offered on the first long job, not on page load; a browser "no" is remembered', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    let runId: string | undefined;
    try {
      const p = await ctx.newPage();
      p.on('console', (msg) => {
        if (msg.type() === 'error') consoleErrors.push(`${msg.text()} (${msg.location().url})`);
      });
      p.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
      await p.addInitScript({ content: INIT_SCRIPT });
      await p.goto(server!.url);
      await p.getByRole('heading', { level: 1 }).first().waitFor();
      expect(await p.evaluate('Notification.permission')).toBe('default');
      await p.waitForTimeout(500);
      expect(await p.getByTestId('toast').count()).toBe(0); // nothing asked on page load

      // Long enough that it is still going after the reload below; cancelled at the end.
      const long = { ...TRAIN, steps: 100_000, checkpointEvery: 100_000 };
      const { run } = await service!.api['runs:start']({ datasetId, seed: 4, config: long });
      runId = run.id;
      const offer = p.getByTestId('toast').filter({ hasText: 'Get a desktop notification when it ends?' });
      await offer.waitFor({ timeout: 30_000 });
      expect(await offer.getByTestId('toast-action').textContent()).toBe('Notify me');
      // Headless Chromium answers a permission prompt nobody can see with a "no".
      await offer.getByTestId('toast-action').click();
      await expect.poll(() => p.evaluate(`localStorage.getItem('sfumato-notify-declined')`), { timeout: 15_000 }).toBe('1');

      // A reload, and the same long job's next progress events: not offered again.
      await p.reload();
      await p.getByRole('heading', { level: 1 }).first().waitFor();
      const running = new RegExp(`^${run.id} \\d+%$`);
      await expect.poll(() => p.evaluate('window.__statuses') as Promise<string[]>, { timeout: 30_000, interval: 50 }).toContainEqual(expect.stringMatching(running));
      expect(await offer.count()).toBe(0);
      await service!.api['runs:cancel']({ id: run.id });
      expect((await waitForRunEnd(run.id)).status).toBe('cancelled');
      await p.getByTestId('toast').filter({ hasText: `Training ${run.id} was cancelled` }).waitFor({ timeout: 30_000 });
      expect(await offer.count()).toBe(0);
      expect(await notes(p)).toEqual([]);
    } finally {
      // On a failure above, the 100,000-step run must not outlive the test.
      const left = runId ? (await service!.api['runs:get']({ id: runId })).run : undefined;
      if (left && ['queued', 'running'].includes(left.status)) await service!.api['runs:cancel']({ id: left.id }).then(() => waitForRunEnd(left.id));
      await ctx.close();
    }
    expect(consoleErrors).toEqual([]);
  });
});
