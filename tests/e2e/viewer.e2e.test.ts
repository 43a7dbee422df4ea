/**
 * Seeing images (issue 15, item 2), in a real browser against web mode: the gallery grid fills the
 * window below its toolbar (it was stuck at 320 px with the lower half of the window empty) at
 * 1440×900 and 1024×768 without horizontal overflow; the lightbox opens, goes next/previous, zooms
 * by whole steps with nearest-neighbour pixels, and closes with Esc; A/B compare shows two samples
 * at one zoom; favourites carry a ★ on their tiles. Screenshots of the gallery, lightbox and
 * compare in both themes go to test-results/screens/ (not committed).
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../src-main/api/types';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, startStudio } from './harness';

// In-page callbacks run in the browser; this file compiles without the DOM lib.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const getComputedStyle: (el: any) => any;

const SCREENS = join(RESULTS, 'screens');
const COPIES = 300; // extra rows (reusing the real PNGs) so the grid has far more rows than fit

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];
let real: SampleRecord[] = [];
/** the first six records in the grid's order (newest first): tile i shows shown[i] */
let shown: SampleRecord[] = [];
let total = 0;

/** A screenshot in the dark theme and one in the light theme (the theme flipped in place). */
async function shots(name: string): Promise<void> {
  for (const theme of ['dark', 'light']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.waitForTimeout(60);
    await page.screenshot({ path: join(SCREENS, `${name}-${theme}.png`) });
  }
  await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
}

const tile = (i: number) => page.locator(`[data-testid="gallery-item"][data-index="${i}"]`);
const tileSrc = (i: number) => tile(i).locator('img').getAttribute('src');
const lightbox = () => page.getByTestId('lightbox');
const focusedIndex = () => page.evaluate(() => Number(document.activeElement?.closest('[data-index]')?.getAttribute('data-index') ?? -1));

async function openGallery(): Promise<void> {
  await page.getByTestId('nav-home').click();
  await page.getByTestId('nav-gallery').click();
  await page.getByRole('heading', { name: 'Gallery', level: 1 }).waitFor();
  await expect.poll(() => page.getByTestId('gallery-total').textContent()).toBe(String(total));
  await tile(0).locator('img').waitFor();
}

/** The scroller's box, the room below its top, and overflow of the page and its scroll container. */
function measure(): Promise<{ top: number; height: number; below: number; docOverflow: number; mainOverflow: number; tiles: number }> {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="gallery-scroller"]');
    const r = el.getBoundingClientRect();
    const doc = document.documentElement;
    const main = document.querySelector('main');
    return {
      top: r.top,
      height: r.height,
      below: window.innerHeight - r.top,
      docOverflow: doc.scrollWidth - doc.clientWidth,
      mainOverflow: main.scrollWidth - main.clientWidth,
      tiles: document.querySelectorAll('[data-testid="gallery-item"]').length,
    };
  });
}

describe('seeing images: full-height grid, lightbox, A/B compare, favourite badges', () => {
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    ({ libraryDir, service, server, browser, page } = await startStudio('sfumato-viewer-', { width: 1440, height: 900 }, consoleErrors));
    const models = (await service.api['models:list']({})).models;
    expect(models.length).toBeGreaterThan(0);
    real = (await service.api['sample:generate']({ modelId: models[0].id, count: 6, seed: 11, steps: 4 })).samples;
    // Older copies of the same PNGs: the six real (distinct) images stay first, newest first.
    const base = Date.parse('2024-01-01T00:00:00Z');
    await service.store.db.transaction(async () => {
      for (let i = 0; i < COPIES; i++) {
        const { createdAt: _c, ...rest } = real[i % real.length];
        void _c;
        await service!.store.samples.insert({ ...rest, id: `smp_copy${String(i).padStart(5, '0')}`, seed: 50_000 + i, parentId: null, createdAt: new Date(base + i * 1000).toISOString() });
      }
    });
    total = real.length + COPIES;
    shown = (await service.api['gallery:query']({ limit: real.length })).samples;
    expect(new Set(shown.map((r) => r.id))).toEqual(new Set(real.map((r) => r.id)));
    await page.goto(server.url);
    await page.getByTestId('nav-gallery').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('the grid fills the window below the toolbar at 1440×900 and 1024×768, virtualised, no horizontal overflow', async () => {
    for (const vp of [
      { width: 1440, height: 900 },
      { width: 1024, height: 768 },
    ]) {
      await page.setViewportSize(vp);
      await openGallery();
      await page.waitForTimeout(150);
      const m = await measure();
      expect(m.height, `grid at ${vp.width}×${vp.height}: ${JSON.stringify(m)}`).toBeGreaterThanOrEqual(0.8 * m.below);
      expect(m.tiles).toBeLessThan(total);
      expect(m.docOverflow, `page overflow at ${vp.width}×${vp.height}`).toBeLessThanOrEqual(0);
      expect(m.mainOverflow, `main overflow at ${vp.width}×${vp.height}`).toBeLessThanOrEqual(0);
      // With the detail open beside it, the grid still fills the height and nothing overflows.
      await tile(0).getByRole('button').click();
      await page.getByTestId('gallery-detail').waitFor();
      const d = await measure();
      expect(d.height).toBeGreaterThanOrEqual(0.8 * d.below);
      expect(d.docOverflow).toBeLessThanOrEqual(0);
      expect(d.mainOverflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(SCREENS, `gallery-detail-${vp.width}x${vp.height}.png`) });
      await page.getByTestId('gallery-detail-close').click();
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    await openGallery();
    await shots('gallery');
  });

  it('lightbox: opens on a tile, ←/→ change the image, 4× zoom is 4× the pixels (pixelated), Esc closes', async () => {
    const srcs = [await tileSrc(0), await tileSrc(1)];
    expect(srcs[0]).not.toBe(srcs[1]);
    await tile(0).getByRole('button').dblclick();
    const img = page.getByTestId('lightbox-image');
    await img.waitFor();
    expect(await img.getAttribute('src')).toBe(srcs[0]);
    await expect.poll(() => page.evaluate(() => document.activeElement?.dataset?.testid)).toBe('lightbox');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => img.getAttribute('src')).toBe(srcs[1]);
    expect(await page.getByTestId('lightbox-position').textContent()).toBe(`2 / ${total}`);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => img.getAttribute('src')).toBe(srcs[0]);

    await page.keyboard.press('1');
    for (let i = 0; i < 3; i++) await page.keyboard.press('+');
    await expect.poll(() => page.getByTestId('lightbox-zoom').textContent()).toBe('4×');
    await expect.poll(() => img.evaluate((e: any) => e.complete && e.naturalWidth > 0)).toBe(true);
    const z = await img.evaluate((e: any) => {
      const r = e.getBoundingClientRect();
      return { w: r.width, h: r.height, nw: e.naturalWidth, nh: e.naturalHeight, rendering: getComputedStyle(e).imageRendering };
    });
    expect(z.nw).toBe(shown[0].width);
    expect(z.w).toBe(4 * z.nw);
    expect(z.h).toBe(4 * z.nh);
    expect(z.rendering).toBe('pixelated');
    await page.keyboard.press('-');
    await expect.poll(() => page.getByTestId('lightbox-zoom').textContent()).toBe('3×');
    for (let i = 0; i < 20; i++) await page.keyboard.press('+');
    await expect.poll(() => page.getByTestId('lightbox-zoom').textContent()).toBe('16×'); // the top step
    await page.keyboard.press('0');
    await expect.poll(() => page.getByTestId('lightbox-zoom').textContent()).toMatch(/^\d+× fit$/);
    const fit = await img.evaluate((e: any) => e.getBoundingClientRect().width / e.naturalWidth);
    expect(Number.isInteger(fit)).toBe(true);
    expect(fit).toBeGreaterThan(1);
    await shots('lightbox');
    // F: the viewer goes fullscreen, F again leaves it.
    await page.keyboard.press('f');
    await expect.poll(() => page.evaluate(() => document.fullscreenElement?.dataset?.testid ?? null)).toBe('lightbox');
    await page.keyboard.press('f');
    await expect.poll(() => page.evaluate(() => document.fullscreenElement?.dataset?.testid ?? null)).toBe(null);

    await page.keyboard.press('Escape');
    await expect.poll(() => lightbox().count()).toBe(0);
    // The keyboard is back on the grid: Space opens the viewer on the tile under the cursor.
    await expect.poll(focusedIndex).toBe(0);
    await page.keyboard.press('ArrowRight');
    await expect.poll(focusedIndex).toBe(1);
    await page.keyboard.press(' ');
    await expect.poll(() => page.getByTestId('lightbox-image').getAttribute('src')).toBe(srcs[1]);
    await page.keyboard.press('Escape');
    await expect.poll(() => lightbox().count()).toBe(0);
    await page.getByTestId('gallery-detail-close').click();
  });

  it('A/B compare: Shift-click picks B, two images at one zoom side by side or under a slider; Space/C toggle', async () => {
    const [a, b] = [await tileSrc(0), await tileSrc(2)];
    await tile(0).getByRole('button').click();
    await page.getByTestId('gallery-detail').waitFor();
    await tile(2).getByRole('button').click({ modifiers: ['Shift'] });
    const view = page.getByTestId('lightbox-compare-view');
    await view.waitFor();
    const imgs = page.getByTestId('compare-image');
    expect(await imgs.count()).toBe(2);
    expect([await imgs.nth(0).getAttribute('src'), await imgs.nth(1).getAttribute('src')]).toEqual([a, b]);
    await expect.poll(() => imgs.evaluateAll((els: any[]) => els.every((e) => e.complete && e.naturalWidth > 0))).toBe(true);
    const sizes = () =>
      imgs.evaluateAll((els: any[]) => els.map((e) => ({ w: e.getBoundingClientRect().width, nw: e.naturalWidth, rendering: getComputedStyle(e).imageRendering })));
    const side = await sizes();
    expect(side[0].w).toBe(side[1].w);
    expect(Number.isInteger(side[0].w / side[0].nw)).toBe(true);
    expect(side.every((s) => s.rendering === 'pixelated')).toBe(true);
    await shots('compare');

    await page.keyboard.press('s');
    await expect.poll(() => page.getByTestId('lightbox-mode-slider').getAttribute('aria-checked')).toBe('true');
    expect(await imgs.count()).toBe(2);
    await page.keyboard.press('1');
    for (let i = 0; i < 3; i++) await page.keyboard.press('+');
    const slid = await sizes();
    expect(slid.map((s) => s.w)).toEqual([4 * slid[0].nw, 4 * slid[1].nw]);
    await page.keyboard.press('0');
    await page.keyboard.press(']');
    await shots('compare-slider');
    await page.keyboard.press(' ');
    await expect.poll(() => view.count()).toBe(0);
    await expect.poll(() => page.getByTestId('lightbox-image').count()).toBe(1);
    await page.keyboard.press('c');
    await view.waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => lightbox().count()).toBe(0);
    await expect.poll(() => tile(2).getByTestId('b-badge').count()).toBe(1);

    // "Compare with…" in the detail, then a tile: the open image is A, the picked one is B.
    const [c, d] = [await tileSrc(3), await tileSrc(4)];
    await tile(3).getByRole('button').click();
    await page.getByTestId('detail-compare').click();
    await page.getByTestId('gallery-picking').waitFor();
    await tile(4).getByRole('button').click();
    await view.waitFor();
    expect([await imgs.nth(0).getAttribute('src'), await imgs.nth(1).getAttribute('src')]).toEqual([c, d]);
    await page.keyboard.press('Escape');
    await expect.poll(() => lightbox().count()).toBe(0);
    await page.getByTestId('gallery-detail-close').click();
  });

  it('favourites carry a ★ badge on their tiles: set from the service, the grid (F) and the viewer (*)', async () => {
    await service!.api['gallery:update']({ ids: [shown[5].id], favorite: true });
    await openGallery();
    const badges = async () => page.locator('[data-testid="gallery-item"]:has([data-testid="fav-badge"])').evaluateAll((els: any[]) => els.map((e) => Number(e.dataset.index)));
    await expect.poll(badges).toEqual([5]);
    await tile(0).getByRole('button').focus();
    await page.keyboard.press('f');
    await expect.poll(badges).toEqual([0, 5]);
    expect((await service!.api['gallery:meta']({ id: shown[0].id })).meta.favorite).toBe(true);
    expect(await tile(0).getByRole('button').getAttribute('aria-label')).toContain('favourite');
    await shots('gallery-favourites');
    await page.keyboard.press(' ');
    await lightbox().waitFor();
    await expect.poll(() => page.getByTestId('lightbox-favorite').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('*');
    await expect.poll(() => page.getByTestId('lightbox-favorite').getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('Escape');
    await expect.poll(badges).toEqual([5]);
    expect((await service!.api['gallery:meta']({ id: shown[0].id })).meta.favorite).toBe(false);
    expect(consoleErrors).toEqual([]);
  });
});
