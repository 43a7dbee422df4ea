/**
 * Plain language (issue 15, item 8), in a real browser against web mode: every field of the Train
 * form has a visible one-line help that the field points at (aria-describedby); no label on the
 * Train, Sample or Sampler-lab page is a raw setting key (`correctorSteps`, `rtol`, `churn`, …);
 * the Train page says what to expect from measured figures; the Schedules page and the sampler
 * lab explain their symbols (glossary panel and ⓘ toggles).
 */
import { rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { DEFAULT_TRAIN_CONFIG } from '../../src-main/training/config';
import { startStudio } from './harness';

// In-page callbacks run in the browser; this file compiles without the DOM lib.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const consoleErrors: string[] = [];

/** Raw keys that must never be a label: the sampler options the issue names and every TrainConfig key. */
const RAW_KEYS = new Set(['correctorSteps', 'rtol', 'atol', 'churn', 'rho', 'snr', 'eta', 'sMin', 'sMax', 'sNoise', ...Object.keys(DEFAULT_TRAIN_CONFIG)]);

async function goto(id: string, heading: string | RegExp): Promise<void> {
  await page.getByTestId(`nav-${id}`).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** The visible label texts of the page's main area (labels and group labels). */
function labelTexts(): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('main label, main .label, main legend')].filter((el: any) => el.offsetParent !== null).map((el: any) => (el.textContent ?? '').trim()),
  );
}

function rawLabels(labels: string[]): string[] {
  return labels.filter((l) => RAW_KEYS.has(l) || /^[a-z]+[A-Z][A-Za-z]*$/.test(l));
}

describe('plain language', () => {
  beforeAll(async () => {
    ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-plain-', { width: 1280, height: 900 }, consoleErrors));
    const info = await service.api['system:info']({});
    await service.importDataset({ dir: info.demoDatasetDir!, imageSize: 32, name: 'Demo emoji' });
    await page.goto(server.url);
    await page.getByTestId('nav-home').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('every Train field has visible help that it points at, and no raw key as a label', async () => {
    await goto('train', 'Train');
    await page.getByTestId('train-advanced').locator('summary').click();
    const fields: { id: string; help: string; visible: boolean }[] = await page.evaluate(() =>
      [...document.querySelectorAll('form[aria-label="Start a training run"] input, form[aria-label="Start a training run"] select, form[aria-label="Start a training run"] [role="radiogroup"]')]
        .filter((el: any) => el.offsetParent !== null)
        .map((el: any) => {
          const ref = el.getAttribute('aria-describedby');
          const help = ref ? document.getElementById(ref) : null;
          return { id: el.id || el.getAttribute('aria-labelledby') || el.outerHTML.slice(0, 60), help: (help?.textContent ?? '').trim(), visible: !!help && help.offsetParent !== null };
        }),
    );
    // dataset, size, steps, start from, seed, 6 model fields, schedule, objective, weighting, flips,
    // 8 optimisation fields (weight decay only with AdamW), 5 bookkeeping fields
    expect(fields.length).toBeGreaterThanOrEqual(25);
    const without = fields.filter((f) => !f.visible || f.help.length < 20);
    expect(without).toEqual([]);
    expect(rawLabels(await labelTexts())).toEqual([]);
    expect(await page.getByText('How big each correction is', { exact: false }).isVisible()).toBe(true);
  });

  it('the Train page says plainly what to expect, from measured figures', async () => {
    await page.getByTestId('preset-tiny').click();
    const text = (await page.getByTestId('train-expect').textContent())?.trim() ?? '';
    expect(text).toMatch(/^On a set like this \(128 images at 32 px\), shapes/);
    expect(text).toMatch(/this run is set for 300 steps\.$/);
    await page.getByTestId('preset-small').click();
    expect(await page.getByTestId('train-expect').textContent()).toMatch(/measured how fast shapes appear only for the Tiny size/);
  });

  it('no raw key as a label on the Sample page, for any sampler', async () => {
    await goto('sample', 'Sample');
    const samplers: string[] = await page.getByTestId('sample-sampler').evaluate((el: any) => [...el.options].map((o: any) => o.value));
    expect(samplers.length).toBeGreaterThan(3);
    for (const s of samplers) {
      await page.getByTestId('sample-sampler').selectOption(s);
      expect(rawLabels(await labelTexts()), s).toEqual([]);
    }
  });

  it('the sampler lab and the Schedules page explain their symbols', async () => {
    await goto('playground', 'Sampler lab');
    expect(rawLabels(await labelTexts())).toEqual([]);
    await page.getByTestId('glossary').locator('summary').click();
    expect(await page.getByTestId('glossary').textContent()).toMatch(/NFE.*model calls/s);
    await goto('schedules', 'Schedules');
    const info = page.getByTestId('term-info').first();
    await info.click();
    expect(await info.getAttribute('aria-expanded')).toBe('true');
    expect((await page.getByTestId('term-explain').first().textContent())?.length).toBeGreaterThan(20);
    await page.getByTestId('glossary').locator('summary').click();
    for (const word of ['log-SNR', 'alpha-bar', 'β (beta)']) expect(await page.getByTestId('glossary').textContent()).toContain(word);
    expect(await page.locator('section.panel', { has: page.getByTestId('chart-logsnr') }).locator('h2').textContent()).toContain('signal-to-noise (log)');
    expect(consoleErrors).toEqual([]);
  });
});
