/**
 * Layout and robustness (issue 15, item 11), in a real browser against web mode at 1024×768: every
 * page (Home, Datasets, Schedules, Train with a finished run, Sample with its variations panel,
 * Gallery with the detail open, Sampler lab, System) in both themes has no horizontal overflow —
 * neither the document nor <main> scrolls sideways, and no element sticks out of the viewport (the
 * test names the ones that do). Screenshots of every page in both themes go to
 * test-results/screens/layout-*.png (not committed). The theme follows the OS until the user picks
 * one, and dragging a log-SNR point far past its neighbour keeps the curve valid and the plots shown.
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../src-main/api/types';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, startStudio, tinyTrainConfig } from './harness';

// In-page callbacks run in the browser; this file compiles without the DOM lib.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const localStorage: any;
declare const getComputedStyle: (el: any) => any;

const SCREENS = join(RESULTS, 'screens');
const VIEWPORT = { width: 1024, height: 768 };
const TRAIN = tinyTrainConfig(8);

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let runId = '';
const consoleErrors: string[] = [];

interface Overflow {
  doc: number;
  main: number;
  /** elements whose box reaches past the right edge of the viewport (or of <main>), described */
  sticking: string[];
}

/** Horizontal overflow of the page: document, <main>, and every visible element past the right edge. */
function measure(): Promise<Overflow> {
  return page.evaluate(() => {
    const doc = document.documentElement;
    const main = document.querySelector('main');
    const right = Math.min(doc.clientWidth, main ? main.getBoundingClientRect().right : Infinity);
    const sticking: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      // inside a scroller that scrolls sideways on purpose (wide tables, strips): its own business
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ox = getComputedStyle(p).overflowX;
        if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') {
          if (p !== main) clipped = true;
          break;
        }
      }
      if (clipped) continue;
      if (r.right > right + 1 || r.left < -1) {
        const id = el.getAttribute('data-testid') ?? el.id ?? '';
        const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).slice(0, 2).join('.') : '';
        sticking.push(`${el.tagName.toLowerCase()}${id ? `[${id}]` : ''}${cls ? `.${cls}` : ''} (${Math.round(r.left)}..${Math.round(r.right)} of ${Math.round(right)}): "${(el.textContent ?? '').trim().slice(0, 40)}"`);
      }
    }
    // a panel that scrolls (the gallery detail, …) whose content is wider than itself hides buttons sideways
    for (const el of document.querySelectorAll('main *')) {
      const cs = getComputedStyle(el);
      if (!['auto', 'scroll', 'hidden'].includes(cs.overflowY) || el.clientWidth <= 1 || el.classList.contains('sr-only')) continue;
      if (el.scrollWidth > el.clientWidth + 1 && el.dataset.scrollX === undefined) {
        const id = el.getAttribute('data-testid') ?? '';
        const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).slice(0, 2).join('.') : '';
        sticking.push(`inside ${el.tagName.toLowerCase()}${id ? `[${id}]` : ''}${cls ? `.${cls}` : ''}: content ${el.scrollWidth}px wide in ${el.clientWidth}px`);
      }
    }
    // and content wider than its panel (it spills over the panel beside it even when the page does not overflow)
    for (const el of document.querySelectorAll('main .panel')) {
      if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        const id = el.getAttribute('data-testid') ?? el.getAttribute('aria-labelledby') ?? '';
        sticking.push(`inside panel ${id}: content ${el.scrollWidth}px wide in ${el.clientWidth}px ("${(el.textContent ?? '').trim().slice(0, 30)}")`);
      }
    }
    return { doc: doc.scrollWidth - doc.clientWidth, main: main ? main.scrollWidth - main.clientWidth : 0, sticking: sticking.slice(0, 12) };
  });
}

async function goto(id: string, heading: string | RegExp): Promise<void> {
  await page.getByTestId(`nav-${id}`).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

async function setTheme(theme: 'dark' | 'light'): Promise<void> {
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.getByTestId('theme-toggle').click();
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
}

async function waitForRunEnd(id: string): Promise<Run> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { run } = await service!.api['runs:get']({ id });
    if (!['queued', 'running'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`Run ${id} still ${run.status} after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('layout at 1024×768 in both themes', () => {
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-layout-', VIEWPORT, consoleErrors));
    const info = await service.api['system:info']({});
    const datasetId = (await service.importDataset({ dir: info.demoDatasetDir!, imageSize: 16, name: 'Demo emoji with a rather long name for the layout check' })).dataset.id;
    const { run } = await service.api['runs:start']({ datasetId, seed: 5, config: TRAIN });
    runId = run.id;
    expect((await waitForRunEnd(runId)).status).toBe('completed');
    await service.api['sample:generate']({ runId, count: 4, seed: 7, steps: 4 });
    await page.goto(server.url);
    await page.getByTestId('nav-home').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('the theme follows the OS until the user picks one; the toggle names the theme it switches to', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(server!.url);
    await page.getByTestId('nav-home').waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(await page.getByTestId('theme-toggle').textContent()).toMatch(/dark/i);
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.getByTestId('theme-toggle').textContent()).toMatch(/light/i);
    expect(await page.evaluate(() => localStorage.getItem('sfumato-theme'))).toBeNull();
    // A pick is stored and wins over the OS from then on.
    await page.getByTestId('theme-toggle').click();
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    await page.getByTestId('nav-home').waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(await page.evaluate(() => localStorage.getItem('sfumato-theme'))).toBe('light');
  });

  it('no page overflows sideways; screenshots of every page in both themes', async () => {
    const problems: string[] = [];
    const pages: [string, string | RegExp, () => Promise<void>][] = [
      ['home', 'Studio', async () => {}],
      ['datasets', 'Datasets', async () => {
        await page.getByTestId('dataset-item').first().click();
        await page.getByTestId('dataset-thumb').first().waitFor();
      }],
      ['schedules', 'Schedules', async () => {
        await page.getByTestId('noise-strip').waitFor();
        await page.getByTestId('sched-edit-custom').click();
        await page.getByTestId('logsnr-editor').waitFor();
      }],
      ['train', 'Train', async () => {
        await expect.poll(async () => (await page.getByTestId('live-run-id').textContent())?.trim(), { timeout: 10_000 }).toBe(runId);
        await page.getByTestId('loss-chart').waitFor();
      }],
      ['sample', 'Sample', async () => {
        if ((await page.getByTestId('sample-result').count()) === 0) {
          await page.getByTestId('sample-steps').fill('3');
          await page.getByTestId('sample-count').fill('4');
          await page.getByTestId('sample-generate').click();
        }
        await page.getByTestId('sample-result').first().waitFor({ timeout: 60_000 });
        await page.getByTestId('sample-result').first().getByRole('button').first().click();
        await page.getByTestId('result-actions').waitFor({ timeout: 60_000 });
      }],
      ['gallery', 'Gallery', async () => {
        await page.getByTestId('gallery-item').first().getByRole('button').first().click();
        await page.getByTestId('gallery-detail').waitFor();
      }],
      ['models', 'Models', async () => {}],
      ['playground', 'Sampler lab', async () => {}],
      ['system', 'System', async () => {}],
    ];
    for (const theme of ['dark', 'light'] as const) {
      await setTheme(theme);
      for (const [id, heading, prepare] of pages) {
        await goto(id, heading);
        await prepare();
        await page.waitForTimeout(250);
        const m = await measure();
        await page.screenshot({ path: join(SCREENS, `layout-${id}-${theme}.png`) });
        if (id === 'gallery') {
          // the detail's buttons, below its image
          await page.getByTestId('gallery-detail').locator('button').last().scrollIntoViewIfNeeded();
          const b = await measure();
          m.sticking.push(...b.sticking);
          await page.screenshot({ path: join(SCREENS, `layout-gallery-detail-buttons-${theme}.png`) });
        }
        if (m.doc > 0 || m.main > 0 || m.sticking.length) problems.push(`${id} (${theme}): document +${m.doc}px, main +${m.main}px; sticking out: ${m.sticking.join('; ') || 'none'}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('dragging a log-SNR point far past its neighbour keeps the curve valid and every plot visible', async () => {
    await goto('schedules', 'Schedules');
    if ((await page.getByTestId('logsnr-editor').count()) === 0) await page.getByTestId('sched-edit-custom').click();
    const pts = page.getByTestId('logsnr-point');
    await expect.poll(() => pts.count()).toBe(5);
    const charts = () => page.locator('main canvas, main [data-testid="noise-strip"]').count();
    const before = await charts();
    expect(before).toBeGreaterThan(0);
    const box = (await pts.nth(2).boundingBox())!;
    const editor = (await page.getByTestId('logsnr-editor').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    // up past the left neighbour and off the top of the editor, then far right, checking as we go
    for (const [dx, dy] of [[0, -editor.height * 0.4], [0, -editor.height], [editor.width * 0.6, -editor.height], [editor.width, editor.height]]) {
      await page.mouse.move(box.x + dx, box.y + dy, { steps: 5 });
      expect(await page.getByTestId('sched-error').count()).toBe(0);
      expect(await charts()).toBe(before);
    }
    await page.mouse.up();
    const labels = await pts.evaluateAll((els) => els.map((e: any) => e.getAttribute('aria-label')));
    const values = labels.map((l: string) => Number(/log-SNR (-?[\d.]+)/.exec(l)![1]));
    for (let i = 1; i < values.length; i++) expect(values[i], labels.join(' | ')).toBeLessThan(values[i - 1]);
    await page.screenshot({ path: join(SCREENS, 'layout-schedules-dragged.png') });
    expect(consoleErrors).toEqual([]);
  });
});
