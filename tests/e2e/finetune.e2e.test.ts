/**
 * Fine-tuning from the bundled model, started from the Train page (issue 15, item 1): picking
 * "Start from: Bundled Emoji 32 px" brings the fine-tune learning rate (not the Tiny preset's 1e-3)
 * and shows the model's real architecture in the greyed fields; the run the UI starts records
 * lr 5e-5 and the model's architecture; an lr above 1e-4 on a fine-tune is warned about.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import { RESULTS, startStudio } from './harness';

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];

describe('fine-tuning from the Train page (web mode)', () => {
  beforeAll(async () => {
    ({ libraryDir, service, server, browser, page } = await startStudio('sfumato-finetune-', { width: 1280, height: 900 }, consoleErrors));
    const info = await service.api['system:info']({});
    await service.importDataset({ dir: info.demoDatasetDir!, imageSize: 32, name: 'Demo emoji 32' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('picks the bundled model: lr 5e-5 and the model’s architecture shown, recorded by the run; warns at lr 1e-3', async () => {
    await page.goto(server!.url);
    await page.getByTestId('nav-train').click();
    await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
    await page.getByText('Advanced settings').click();
    const lr = page.getByTestId('train-lr');
    const field = (label: string) => page.getByLabel(label, { exact: true });
    expect(Number(await lr.inputValue())).toBe(1e-3); // the Tiny preset, from scratch

    const init = page.getByTestId('train-init');
    await expect.poll(() => init.locator('option[value="model:emoji-32"]').count()).toBe(1);
    await init.selectOption('model:emoji-32');
    await expect.poll(async () => Number(await lr.inputValue())).toBe(5e-5);
    expect(Number(await field('Warm-up steps').inputValue())).toBe(50);
    expect(Number(await field('EMA decay').inputValue())).toBe(0.999);
    expect(await field('Base channels').inputValue()).toBe('32');
    expect(await field('Channel multipliers').inputValue()).toBe('1,2,2');
    expect(await field('Attention at resolutions').inputValue()).toBe('8');
    expect(await field('Res blocks per level').inputValue()).toBe('1');
    expect(await field('GroupNorm groups').inputValue()).toBe('8');
    expect(await field('Base channels').isDisabled()).toBe(true);
    expect(await page.getByTestId('train-schedule').locator('option:checked').textContent()).toContain('linear');
    expect(await page.getByTestId('train-lr-warning').count()).toBe(0);

    // Start a 2-step fine-tune from the UI, lr untouched.
    await field('Steps').fill('2');
    await page.getByTestId('train-batch').fill('4');
    await field('Checkpoint every (steps)').fill('2');
    await field('Preview every (steps)').fill('0');
    await page.getByTestId('train-start').click();
    await page.getByTestId('live-run-id').waitFor({ timeout: 30_000 });
    const runId = (await page.getByTestId('live-run-id').textContent())!.trim();
    const status = page.locator('[data-testid="live-run"] [data-testid="run-status"]');
    await expect.poll(() => status.textContent(), { timeout: 150_000, interval: 500 }).toBe('completed');
    const { run } = await service!.api['runs:get']({ id: runId });
    expect(run.initFrom).toMatchObject({ modelId: 'emoji-32' });
    expect(run.config).toMatchObject({ lr: 5e-5, warmupSteps: 50, ema: 0.999, steps: 2, imageSize: 32, baseChannels: 32, channelMults: [1, 2, 2], attentionResolutions: [8], resBlocks: 1, groups: 8 });
    expect(run.losses).toHaveLength(2);

    // An lr above 1e-4 on a fine-tune is warned about, in plain words.
    await lr.fill('0.001');
    const warning = page.getByTestId('train-lr-warning');
    await warning.waitFor();
    expect(await warning.textContent()).toContain('Learning rates above 1e-4 usually wreck a fine-tune');
    await warning.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'ui-train-finetune-warning.png') });
    // The class-conditional bundled model: the fine-tune stays class-conditional (ticked, locked, said)
    const classModel = await init.locator('option[value="model:emoji-32-classes"]').count();
    expect(classModel).toBe(1);
    const cc = page.getByTestId('train-class-conditional');
    expect(await cc.isChecked()).toBe(false);
    await init.selectOption('model:emoji-32-classes');
    await expect.poll(() => cc.isChecked()).toBe(true);
    expect(await cc.isDisabled()).toBe(true);
    expect(await page.getByTestId('train-class-conditional-kept').textContent()).toContain('smileys');
    await init.selectOption('model:emoji-32');
    await expect.poll(() => cc.isChecked()).toBe(false);
    expect(await cc.isDisabled()).toBe(false);
    // Back to scratch: no warning; the untouched warm-up and EMA return to the Tiny preset's.
    await init.selectOption('');
    await expect.poll(() => warning.count()).toBe(0);
    expect(Number(await field('Warm-up steps').inputValue())).toBe(0);
    expect(Number(await field('EMA decay').inputValue())).toBe(0.99);
    expect(await field('Base channels').inputValue()).toBe('16');
    expect(await field('Base channels').isDisabled()).toBe(false);
    expect(consoleErrors).toEqual([]);
  });
  it('a LoRA fine-tune from the Train page: rank chosen, base frozen, recorded by the run', async () => {
    const field = (label: string) => page.getByLabel(label, { exact: true });
    await page.getByTestId('train-init').selectOption('model:emoji-32');
    expect(await page.getByTestId('train-lora-rank').count()).toBe(0);
    await page.getByTestId('train-lora').check();
    await page.getByTestId('train-lora-rank').fill('4');
    await field('Steps').fill('2');
    await page.getByTestId('train-batch').fill('4');
    await field('Checkpoint every (steps)').fill('2');
    await field('Preview every (steps)').fill('0');
    await page.getByTestId('train-lr').fill('0.0001');
    const id = page.getByTestId('live-run-id');
    const idNow = async () => ((await id.count()) ? (await id.textContent())!.trim() : '');
    const before = await idNow(); // the previous test's run may still be shown
    await page.getByTestId('train-start').click();
    await expect.poll(idNow, { timeout: 30_000 }).not.toBe(before);
    const runId = (await id.textContent())!.trim();
    const status = page.locator('[data-testid="live-run"] [data-testid="run-status"]');
    await expect.poll(() => status.textContent(), { timeout: 150_000, interval: 500 }).toBe('completed');
    const { run } = await service!.api['runs:get']({ id: runId });
    expect(run.config.lora).toEqual({ rank: 4, alpha: 4, targets: ['attn', 'conv'] });
    expect(run.trainableParams).toBeLessThan(run.totalParams / 10);
    expect(consoleErrors).toEqual([]);
  });
});
