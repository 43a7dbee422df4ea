/**
 * The iteration loop (issue 15, item 4), in Chromium against web mode at 1024×768: "Reuse these
 * settings" and "Send to img2img" from the gallery (detail panel and viewer) fill the Sample page;
 * a PNG dropped on the window (one the app made, an A1111-style one with a tEXt `parameters`
 * chunk, one without a recipe, a non-PNG) restores its recipe or says why not; Ctrl+Enter
 * generates from inside a field; `?` lists the shortcuts and Esc closes the list; batch count 2 ×
 * batch size 2 gives 4 images with consecutive seeds; the history strip loads a result's settings.
 * The bundled model samples in a few steps, so the whole file takes seconds of sampling.
 * Screenshots (both themes) of the drop overlay, the img2img source and the shortcut list go to
 * test-results/screens/loop-*.png (not committed).
 */
import { mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../src-main/api/types';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { cat, latin1, makePng, rawChunk, withChunksAfterIhdr } from '../unit/gallery/helpers';
import { RESULTS, startStudio } from './harness';

// In-page callbacks run in the browser; this file compiles without the DOM lib.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const DataTransfer: any;
declare const DragEvent: any;
declare const File: any;
declare const atob: (s: string) => string;

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];
let modelId = '';
/** made by the service before the page opens: ddim, 7 steps, eta 0.3 */
let made: SampleRecord[] = [];

const SCREENS = join(RESULTS, 'screens');
const field = (id: string) => page.getByTestId(id);

/** A screenshot in the dark theme and one in the light theme (the theme flipped in place). */
async function shots(name: string): Promise<void> {
  for (const theme of ['dark', 'light']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.waitForTimeout(60);
    await page.screenshot({ path: join(SCREENS, `loop-${name}-${theme}.png`) });
  }
  await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
}
const toastText = () => page.getByTestId('toast').allTextContents().then((t) => t.join('\n'));

async function goto(hash: string, heading: string): Promise<void> {
  await page.getByTestId(`nav-${hash}`).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** The form's values that a recipe sets. */
async function form(): Promise<{ source: string; sampler: string; steps: string; seed: string }> {
  return {
    source: await field('sample-source').inputValue(),
    sampler: await field('sample-sampler').inputValue(),
    steps: await field('sample-steps').inputValue(),
    seed: await field('sample-seed-input').inputValue(),
  };
}

/** Puts other values in the form, so a restore is visible. */
async function scramble(): Promise<void> {
  await goto('sample', 'Sample');
  await field('sample-sampler').selectOption('heun');
  await field('sample-steps').fill('13');
  await field('sample-seed-input').fill('1');
}

/** A synthetic drag of one file over the window (enter, over), then the drop. */
async function dropFile(bytes: Uint8Array, name: string, type: string, shot?: string): Promise<void> {
  await page.evaluate(
    ({ b64, name, type }) => {
      const bin = atob(b64);
      const data = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([data], name, { type }));
      window.__dt = dt;
      const target = document.querySelector('main');
      for (const t of ['dragenter', 'dragover']) target.dispatchEvent(new DragEvent(t, { bubbles: true, cancelable: true, dataTransfer: dt }));
    },
    { b64: Buffer.from(bytes).toString('base64'), name, type },
  );
  await field('drop-overlay').waitFor();
  expect(await field('drop-overlay').textContent()).toContain('Drop a PNG to restore its recipe');
  if (shot) await shots(shot);
  await page.evaluate(() => document.querySelector('main').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__dt })));
  await expect.poll(() => field('drop-overlay').count()).toBe(0);
}

async function noHorizontalOverflow(): Promise<void> {
  const o = await page.evaluate(() => {
    const doc = document.documentElement;
    const main = document.querySelector('main');
    return { doc: doc.scrollWidth - doc.clientWidth, main: main.scrollWidth - main.clientWidth };
  });
  expect(o).toEqual({ doc: 0, main: 0 });
}

describe('the iteration loop', () => {
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    ({ libraryDir, service, server, browser, page } = await startStudio('sfumato-loop-', { width: 1024, height: 768 }, consoleErrors));
    modelId = (await service.api['models:list']({})).models[0].id;
    made = (await service.api['sample:generate']({ modelId, count: 2, seed: 4242, sampler: 'ddim', steps: 7, options: { eta: 0.3 } })).samples;
    await page.goto(server.url);
    await page.getByTestId('nav-gallery').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('gallery detail: "Reuse these settings" fills the Sample form (model, sampler, options, steps, seed); nothing is generated', async () => {
    await scramble();
    await goto('gallery', 'Gallery');
    const tile = page.locator('[data-testid="gallery-item"][data-index="0"]');
    await tile.locator('img').waitFor();
    await tile.getByRole('button').click();
    await field('gallery-detail').waitFor();
    const seed = Number(await page.getByTestId('gallery-detail').getByRole('heading', { level: 2 }).textContent().then((t) => t!.replace(/\D/g, '')));
    const rec = made.find((r) => r.seed === seed)!;
    expect(rec).toBeDefined();
    await field('detail-reuse').click();
    await page.getByRole('heading', { name: 'Sample', level: 1 }).waitFor();
    await expect.poll(form).toEqual({ source: `model:${modelId}`, sampler: 'ddim', steps: '7', seed: String(rec.seed) });
    expect(await field('opt-eta').inputValue()).toBe('0.3');
    expect(await toastText()).toContain(`Restored the settings of seed ${rec.seed}`);
    expect(await field('sample-result').count()).toBe(0);
    expect((await service!.api['gallery:query']({})).total).toBe(made.length);
  });

  it('viewer: "Send to img2img" opens the Sample page with the source and strength; Ctrl+Enter in a field generates img2img', async () => {
    await scramble();
    await goto('gallery', 'Gallery');
    const tile = page.locator('[data-testid="gallery-item"][data-index="1"]');
    await tile.locator('img').waitFor();
    await tile.getByRole('button').dblclick();
    await field('lightbox').waitFor();
    const caption = (await field('lightbox-caption').textContent())!;
    const rec = made.find((r) => caption.startsWith(`seed ${r.seed} `))!;
    await field('lightbox-img2img').click();
    await page.getByRole('heading', { name: 'Sample', level: 1 }).waitFor();
    expect(await field('lightbox').count()).toBe(0);
    await expect.poll(() => field('img2img-source').getAttribute('data-sample-id')).toBe(rec.id);
    await expect.poll(form).toEqual({ source: `model:${modelId}`, sampler: 'ddim', steps: '7', seed: String(rec.seed) });
    await field('img2img-strength').fill('0.5');
    await noHorizontalOverflow();
    await shots('img2img-source');

    await field('sample-count').fill('1');
    await field('sample-steps').focus();
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => field('sample-result').count(), { timeout: 60_000 }).toBe(1);
    const newest = (await service!.api['gallery:query']({ limit: 1 })).samples[0];
    expect(newest.origin).toMatchObject({ kind: 'img2img', strength: 0.5, source: { sampleId: rec.id } });
    expect(newest.parentId).toBe(rec.id);
    expect((await service!.api['gallery:query']({})).total).toBe(made.length + 1);
    await field('img2img-clear').click();
    expect(await field('img2img-source').count()).toBe(0);
  });

  it('dropping a PNG made by the app restores its recipe', async () => {
    await scramble();
    const rec = made[0];
    await dropFile(new Uint8Array(await readFile(join(libraryDir, rec.file))), 'mine.png', 'image/png', 'drop-overlay');
    await expect.poll(form).toEqual({ source: `model:${modelId}`, sampler: 'ddim', steps: '7', seed: String(rec.seed) });
    expect(await field('opt-eta').inputValue()).toBe('0.3');
    await expect.poll(toastText).toContain('Restored "mine.png" (Sfumato)');
  });

  it('dropping an A1111-style PNG restores what maps and names what does not', async () => {
    await scramble();
    const params = 'a castle\nSteps: 12, Sampler: Euler a, CFG scale: 7, Seed: 777, Size: 512x512, Model hash: abcdef0123, Model: v1-5-pruned';
    const png = withChunksAfterIhdr(await makePng(8, 8), rawChunk('tEXt', cat(latin1('parameters'), new Uint8Array([0]), latin1(params))));
    await dropFile(png, 'castle.png', 'image/png');
    await expect.poll(() => field('sample-sampler').inputValue()).toBe('euler-ancestral');
    expect(await field('sample-steps').inputValue()).toBe('12');
    expect(await field('sample-seed-input').inputValue()).toBe('777');
    await expect.poll(toastText).toContain('Restored "castle.png" (A1111)');
    const t = await toastText();
    expect(t).toContain("model 'v1-5-pruned' is not in this library — pick a model");
    expect(t).toContain('CFG scale: 7');
    expect(t).toContain('size 512×512');
  });

  it('a PNG without a recipe and a non-PNG are refused with a clear message', async () => {
    await goto('sample', 'Sample');
    const before = await form();
    await dropFile(await makePng(8, 8), 'plain.png', 'image/png');
    await expect.poll(toastText).toContain('No Sfumato or A1111 recipe in this PNG ("plain.png")');
    await dropFile(new TextEncoder().encode('just some notes'), 'notes.txt', 'text/plain');
    await expect.poll(toastText).toContain('"notes.txt" is not a PNG image. Drop a PNG saved by Sfumato or by AUTOMATIC1111');
    expect(await form()).toEqual(before);
  });

  it('? opens the list of every shortcut (not while typing), Esc closes it', async () => {
    await goto('sample', 'Sample');
    await field('sample-seed-input').focus();
    await page.keyboard.press('Shift+Slash');
    expect(await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).count()).toBe(0);
    await page.getByRole('heading', { name: 'Sample', level: 1 }).click();
    await page.keyboard.press('?');
    const dlg = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dlg.waitFor();
    const text = (await dlg.textContent())!;
    for (const s of ['Ctrl', 'generate', 'Gallery grid', 'favourite', 'Viewer', 'fullscreen', 'move the slider', 'restore its recipe']) expect(text).toContain(s);
    await shots('shortcuts');
    await page.keyboard.press('Escape');
    await expect.poll(() => dlg.isVisible()).toBe(false);
  });

  it('batch count 2 × batch size 2 gives 4 images with consecutive seeds; the history strip loads a result', async () => {
    await goto('sample', 'Sample');
    await field('sample-source').selectOption(`model:${modelId}`);
    await field('sample-sampler').selectOption('ddim');
    await field('sample-steps').fill('3');
    await field('sample-seed-input').fill('900');
    await page.getByRole('radio', { name: 'fixed' }).click();
    await field('sample-count').fill('2');
    await field('sample-batches').fill('2');
    await expect.poll(() => field('sample-total').textContent()).toContain('4 image(s)');
    const before = (await service!.api['gallery:query']({})).total;
    await field('sample-generate').click();
    await expect.poll(() => field('sample-result').count(), { timeout: 90_000 }).toBe(4);
    expect(await page.getByTestId('sample-result').getByTestId('sample-seed').allTextContents()).toEqual(['900', '901', '902', '903']);
    expect((await service!.api['gallery:query']({})).total).toBe(before + 4);
    // fixed seed mode: the form keeps its seed
    expect(await field('sample-seed-input').inputValue()).toBe('900');

    const strip = field('history-item');
    await expect.poll(() => strip.count()).toBeGreaterThanOrEqual(4);
    await noHorizontalOverflow();
    const oldest = made[0];
    await page.locator(`[data-testid="history-item"][data-sample-id="${oldest.id}"]`).click();
    await expect.poll(form).toEqual({ source: `model:${modelId}`, sampler: 'ddim', steps: '7', seed: String(oldest.seed) });
    await expect.poll(() => field('sample-result').count()).toBe(1);
    expect(await page.locator(`[data-testid="sample-result"][data-sample-id="${oldest.id}"]`).count()).toBe(1);
    expect(consoleErrors).toEqual([]);
  });
});
