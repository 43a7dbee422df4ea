/**
 * Likelihood in the studio (web mode, real jobs): a tiny run trained on the emoji fixtures plus a
 * pure-noise image; the Datasets page's outlier finder lists the noise image first with its score
 * and the sentence on what the score means, and its Exclude button excludes it; the training
 * dashboard's "Measure latest checkpoint" draws the run's bits/dim; the gallery detail measures how
 * typical a sample is for its model and keeps it.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, ROOT, startStudio, tinyTrainConfig, type Studio } from './harness';

const EMOJI = join(ROOT, 'tests', 'fixtures', 'images', 'emoji');
const consoleErrors: string[] = [];
let st: Studio;
let datasetId = '';
let runId = '';

describe('likelihood in the studio (web mode)', () => {
  beforeAll(async () => {
    st = await startStudio('sfumato-e2e-ll-', { width: 1280, height: 900 }, consoleErrors);
    const dir = join(st.libraryDir, 'src-images');
    mkdirSync(dir);
    for (const f of readdirSync(EMOJI).filter((x) => x.endsWith('.png'))) copyFileSync(join(EMOJI, f), join(dir, f));
    const noise = Buffer.alloc(16 * 16 * 3);
    let s = 99;
    for (let i = 0; i < noise.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      noise[i] = s >>> 24;
    }
    await sharp(noise, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, 'zz-noise.png'));
    const { dataset } = await st.service.datasets.import({ dir, imageSize: 16 });
    datasetId = dataset.id;
    const started = await st.service.runs.start({ datasetId, seed: 3, config: { ...tinyTrainConfig(400), batchSize: 8, lr: 1e-3 } });
    const final = await started.done;
    expect(final.status).toBe('completed');
    runId = final.id;
  });

  afterAll(async () => {
    if (st?.page) await st.page.screenshot({ path: join(RESULTS, 'e2e-likelihood.png'), fullPage: true }).catch(() => undefined);
    await st?.context.close();
    await st?.browser.close();
    await st?.server.close();
    await st?.service.close();
    if (st?.libraryDir) await rm(st.libraryDir, { recursive: true, force: true });
  });

  it('Datasets page: finds the noise image first, says what the score means, and excludes it', async () => {
    const { page, server } = st;
    await page.goto(server.url + '#/datasets');
    await page.getByTestId('dataset-item').first().click();
    await expect.poll(() => page.getByTestId('outlier-model').inputValue(), { timeout: 20_000 }).toBe(`run:${runId}`);
    expect(await page.getByTestId('outliers-explain').textContent()).toContain('likelihood favours simple images');
    await page.getByTestId('outlier-find').click();
    await page.getByTestId('outlier-row').first().waitFor({ timeout: 170_000 });
    expect(await page.getByTestId('outlier-row').first().textContent()).toContain('zz-noise.png');
    expect(await page.getByTestId('outlier-score').first().textContent()).toMatch(/^\d+\.\d\d bits\/dim$/);
    await page.getByTestId('outlier-exclude').first().click();
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toContain('1 excluded');
    await expect.poll(() => page.getByTestId('outlier-exclude').first().textContent()).toBe('Excluded');
    const items = (await st.service.datasets.get(datasetId)).items;
    expect(items.find((i) => i.file === 'zz-noise.png')?.excluded).toBe(true);
  });

  it('Train page: "Measure latest checkpoint" records and shows the run\'s bits/dim', async () => {
    const { page, server } = st;
    await page.goto(server.url + '#/train');
    await page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`).getByTestId('run-name').click();
    await page.getByTestId('run-likelihood-measure').click();
    await page.getByTestId('run-likelihood-last').waitFor({ timeout: 170_000 });
    expect(await page.getByTestId('run-likelihood-last').textContent()).toMatch(/^Step 400: \d+\.\d{3} ± \d+\.\d{3} bits\/dim \((all|sample), n = \d+\)$/);
    const { run } = await st.service.api['runs:get']({ id: runId });
    expect(run.likelihood).toHaveLength(1);
  });

  it('Gallery detail: "How typical is this image?" measures the sample under its model and keeps the result', async () => {
    const { page, server, service } = st;
    const { samples } = await service.api['sample:generate']({ runId, count: 1, seed: 5, steps: 4 });
    await page.goto(server.url + '#/gallery');
    await page.getByTestId('gallery-item').first().click();
    await page.getByTestId('detail-typicality-run').click();
    await page.getByTestId('detail-typicality-value').waitFor({ timeout: 170_000 });
    expect(await page.getByTestId('detail-typicality-value').textContent()).toMatch(/^\s*\d+\.\d\d bits\/dim under its model/);
    const { meta } = await service.api['gallery:meta']({ id: samples[0].id });
    expect(meta.typicality).toMatchObject({ sampleId: samples[0].id, method: 'pf-ode', probes: 4 });
    expect(consoleErrors).toEqual([]);
  });
});
