/**
 * Runs and models as things you manage (issue 15, item 7), in web mode: the bundled model is a
 * model (Models page, "Sample with this"), never a run; a run is renamed inline; two tiny runs are
 * compared (two loss series, their preview grids side by side); deleting a run keeps the
 * checkpoint a gallery image came from, so the image still reproduces and its detail says
 * "run deleted".
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sfumato } from '../../src-main/services/sfumato';
import type { WebServer } from '../../src-main/server/http';
import type { Run } from '../../src-main/api/types';
import { RESULTS, startStudio, tinyTrainConfig } from './harness';

let libraryDir: string;
let service: Sfumato | undefined;
let server: WebServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];
let runA: Run;
let runB: Run;
let sampleId: string;

async function goto(id: string, heading: string): Promise<void> {
  await page.getByTestId(`nav-${id}`).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

describe('runs and models you manage (web mode)', () => {
  beforeAll(async () => {
    ({ libraryDir, service, server, browser, page } = await startStudio('sfumato-runs-', { width: 1280, height: 900 }, consoleErrors));
    const info = await service.api['system:info']({});
    const datasetId = (await service.importDataset({ dir: info.demoDatasetDir!, imageSize: 16, name: 'Demo emoji 16' })).dataset.id;
    // Two tiny runs, one after the other, each with a preview grid at its last step.
    for (const seed of [1, 2]) {
      const { run, done } = await service.runs.start({ datasetId, seed, config: { ...tinyTrainConfig(4), previewEvery: 4 } });
      const final = await done;
      expect(final.status, `run ${run.id}`).toBe('completed');
      if (seed === 1) runA = final;
      else runB = final;
    }
    // A gallery image made from run A's checkpoint.
    sampleId = (await service.api['sample:generate']({ runId: runA.id, count: 1, seed: 7, steps: 2, sampler: 'ddim' })).samples[0].id;
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  it('the bundled model is listed under Models, never as a run; "Sample with this" chooses it', async () => {
    await goto('train', 'Train');
    const rows = page.getByTestId('run-row');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    expect((await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id')))).sort()).toEqual([runA.id, runB.id].sort());
    expect(await page.getByTestId('run-list').textContent()).not.toMatch(/emoji-32|Emoji 32/);

    await goto('models', 'Models');
    const model = page.locator('[data-testid="model-row"][data-model-id="emoji-32"]');
    await model.waitFor();
    expect(await model.getAttribute('data-kind')).toBe('bundled');
    expect(await model.textContent()).toContain('Bundled with Sfumato');
    await model.getByTestId('model-sample').click();
    await page.getByRole('heading', { name: 'Sample', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('sample-source').inputValue(), { timeout: 10_000 }).toBe('model:emoji-32');
  });

  it('renames a run inline; the new name is stored and shown', async () => {
    await goto('train', 'Train');
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runA.id}"]`);
    await row.getByTestId('run-rename').click();
    const input = row.getByTestId('run-rename-input');
    await input.fill('Roses, first try');
    await input.press('Enter');
    await expect.poll(() => row.getByTestId('run-name').textContent()).toBe('Roses, first try');
    expect(await row.getByTestId('run-id').textContent()).toBe(runA.id);
    expect((await service!.api['runs:get']({ id: runA.id })).run.name).toBe('Roses, first try');
  });

  it('compares two runs: one loss series each, named in the legend, and their preview grids side by side', async () => {
    for (const id of [runA.id, runB.id]) await page.locator(`[data-testid="run-row"][data-run-id="${id}"]`).getByTestId('run-compare-check').check();
    await page.getByTestId('runs-compare').click();
    const view = page.getByTestId('run-compare');
    await view.waitFor();
    await expect.poll(() => view.getByTestId('compare-legend-item').count(), { timeout: 10_000 }).toBe(2);
    const legend = await view.getByTestId('compare-legend-item').allTextContents();
    expect(legend.some((t) => t.includes('Roses, first try'))).toBe(true);
    expect(legend.some((t) => t.includes(runB.name))).toBe(true);
    await view.getByTestId('compare-chart').locator('canvas').first().waitFor();
    await expect.poll(() => view.getByTestId('compare-grid').locator('img').count(), { timeout: 10_000 }).toBe(2);
    await view.screenshot({ path: join(RESULTS, 'runs-compare.png') });
    await view.getByTestId('compare-close').click();
  });

  it('a run with held-out images shows the held-out check beside its preview; one without says how to get it', async () => {
    const info = await service!.api['system:info']({});
    const { dataset } = await service!.importDataset({ dir: info.demoDatasetDir!, imageSize: 16, name: 'Demo emoji held-out' });
    const items = (await service!.datasets.get(dataset.id)).items;
    await service!.datasets.exclude(dataset.id, items.slice(100).map((i) => i.id), true);
    const { done } = await service!.runs.start({ datasetId: dataset.id, seed: 5, config: { ...tinyTrainConfig(4), previewEvery: 4 } });
    const run = await done;
    expect(run.status).toBe('completed');
    await page.goto(server!.url + '#/train');
    await page.locator(`[data-testid="run-row"][data-run-id="${run.id}"]`).getByTestId('run-name').click();
    const line = page.getByTestId('preview-heldout');
    await line.waitFor({ timeout: 20_000 });
    expect(await line.textContent()).toMatch(/Held-out check \(16 fresh samples against 16 pictures the run never trained on\): pixel SWD \d+\.\d{3}, floor \d+\.\d{3}/);
    await page.locator(`[data-testid="run-row"][data-run-id="${runB.id}"]`).getByTestId('run-name').click();
    await page.getByTestId('preview-heldout-none').waitFor({ timeout: 20_000 });
    await service!.api['runs:delete']({ id: run.id }); // the next test counts the runs
  });

  it('deletes a run after confirming; the checkpoint its gallery image came from is kept and the image still reproduces', async () => {
    const ck = (await service!.api['gallery:get']({ id: sampleId })).sample.checkpoint;
    const ckFile = (await service!.store.checkpoints.get(ck.id))!.file;
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runA.id}"]`);
    await row.getByTestId('run-row-delete').click();
    const dialog = page.getByTestId('run-delete-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Roses, first try');
    await dialog.getByTestId('run-delete-confirm').click();
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    await page.getByTestId('toast').filter({ hasText: 'Kept 1 checkpoint(s)' }).waitFor();
    expect(existsSync(join(libraryDir, ckFile))).toBe(true);
    expect((await service!.api['runs:list']({})).runs.map((r) => r.id)).toEqual([runB.id]);

    await goto('gallery', 'Gallery');
    const tile = page.locator('[data-testid="gallery-item"][data-index="0"]');
    await tile.locator('img').waitFor();
    await tile.getByRole('button').click();
    const detail = page.getByTestId('gallery-detail');
    await detail.waitFor();
    await expect.poll(() => detail.textContent(), { timeout: 10_000 }).toContain('run deleted');
    expect(await service!.api['gallery:reproduce']({ id: sampleId })).toMatchObject({ identical: true });
    expect(consoleErrors).toEqual([]);
  });
});
