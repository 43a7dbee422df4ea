/**
 * Saved things live in the library (issue 15, item 9), in a real browser against web mode: a
 * schedule saved on the Schedules page is there in a fresh browser context (another browser's
 * storage); a sampling preset saved on the Sample page loads back into the form, exports as a
 * JSON download, and a bad file's import names the field; schedules an older version left in
 * localStorage move into the library on start and leave localStorage.
 */
import { readFile, rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { startStudio } from './harness';

// In-page callbacks run in the browser; this file compiles without the DOM lib.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const localStorage: any;

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const consoleErrors: string[] = [];

async function goto(p: Page, id: string, heading: string): Promise<void> {
  await p.getByTestId(`nav-${id}`).click();
  await p.getByRole('heading', { name: heading, level: 1 }).waitFor();
}
const names = async (kind: 'schedule' | 'sampling') => (await service!.api['presets:list']({ kind })).presets.map((p) => p.name);

beforeAll(async () => {
  ({ libraryDir, service, server, browser, context, page } = await startStudio('sfumato-e2e-presets-', { width: 1280, height: 900 }, consoleErrors));
  await page.goto(server.url);
  await page.getByTestId('nav-home').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await service?.close();
  if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
});

describe('presets in the library', () => {
  it('schedules an older version kept in localStorage move into the library on start, once', async () => {
    const legacy = [{ name: 'old-soft', spec: { kind: 'discrete', beta: 'cosine', trainSteps: 1000 } }];
    await page.evaluate((v) => localStorage.setItem('sfumato-schedules', v), JSON.stringify(legacy));
    await page.reload();
    await page.getByTestId('nav-home').waitFor();
    await expect.poll(() => names('schedule'), { timeout: 20_000 }).toEqual(['old-soft']);
    await expect.poll(() => page.evaluate(() => localStorage.getItem('sfumato-schedules'))).toBeNull();
    // a second start has nothing to move: still one
    await page.reload();
    await page.getByTestId('nav-home').waitFor();
    await goto(page, 'schedules', 'Schedules');
    await page.getByTestId('sched-saved').filter({ hasText: '★ old-soft' }).waitFor();
    expect(await names('schedule')).toEqual(['old-soft']);
  });

  it('a schedule saved on the Schedules page is there in a fresh browser context', async () => {
    await goto(page, 'schedules', 'Schedules');
    await page.getByTestId('sched-edit-custom').click();
    await page.getByTestId('sched-name').fill('soft-e2e');
    await page.getByTestId('sched-save').click();
    await expect.poll(() => names('schedule'), { timeout: 20_000 }).toEqual(['old-soft', 'soft-e2e']);

    const fresh = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const p2 = await fresh.newPage();
      p2.on('pageerror', (err) => consoleErrors.push(`uncaught (fresh context): ${err.message}`));
      await p2.goto(server!.url);
      await p2.getByTestId('nav-home').waitFor();
      await goto(p2, 'schedules', 'Schedules');
      await p2.getByTestId('sched-saved').filter({ hasText: '★ soft-e2e' }).waitFor();
      await goto(p2, 'train', 'Train');
      await expect.poll(() => p2.locator('[data-testid="train-schedule"] option[value="named:soft-e2e"]').count(), { timeout: 20_000 }).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('a sampling preset saves from the Sample form and loads back into it', async () => {
    await goto(page, 'sample', 'Sample');
    await page.getByTestId('sample-sampler').selectOption('euler');
    await page.getByTestId('sample-steps').fill('7');
    await page.getByTestId('sample-count').fill('3');
    await page.getByTestId('sampling-preset-save-open').click();
    await page.getByTestId('sampling-preset-name').fill('quick');
    await page.getByTestId('sampling-preset-save').click();
    await expect.poll(() => names('sampling'), { timeout: 20_000 }).toEqual(['quick']);
    const { presets } = await service!.api['presets:list']({ kind: 'sampling' });
    expect(presets[0].body).toMatchObject({ sampler: 'euler', steps: 7, count: 3 });

    await page.getByTestId('sample-sampler').selectOption('ddim');
    await page.getByTestId('sample-steps').fill('30');
    await page.getByTestId('sample-count').fill('1');
    await page.getByTestId('sampling-preset-select').selectOption({ label: 'quick' });
    await page.getByTestId('sampling-preset-load').click();
    await expect.poll(() => page.getByTestId('sample-sampler').inputValue()).toBe('euler');
    expect(await page.getByTestId('sample-steps').inputValue()).toBe('7');
    expect(await page.getByTestId('sample-count').inputValue()).toBe('3');
  });

  it('exports as a JSON download, and a bad file is refused naming the field', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByTestId('sampling-preset-export').click()]);
    expect(download.suggestedFilename()).toBe('sampling-preset-quick.json');
    const file = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(file).toMatchObject({ format: 'sfumato-presets', version: 1, presets: [{ kind: 'sampling', name: 'quick', body: { sampler: 'euler', steps: 7 } }] });

    const bad = { ...file, presets: [{ kind: 'sampling', name: 'broken', body: { steps: 0 } }] };
    await page.getByTestId('sampling-preset-import-file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(bad)) });
    await expect.poll(() => page.getByTestId('sampling-preset-error').textContent().catch(() => ''), { timeout: 20_000 }).toMatch(/presets\[0\]\.body\.steps/);
    expect(await names('sampling')).toEqual(['quick']);

    // the good file imports (its name is taken here, so it comes in as "quick (2)")
    await page.getByTestId('sampling-preset-import-file').setInputFiles({ name: 'good.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(file)) });
    await expect.poll(() => names('sampling'), { timeout: 20_000 }).toEqual(['quick', 'quick (2)']);
    // the browser logs the refused import's HTTP 400; nothing else may be in the console
    expect(consoleErrors.filter((e) => !/status of 400 .*\/api\/presets\/import/.test(e))).toEqual([]);
  });
});
