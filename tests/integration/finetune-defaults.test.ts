/**
 * The service is the safety net for fine-tuning (issue 15, item 1): a run that starts from a
 * bundled model or a checkpoint gets the fine-tune lr, warm-up and EMA for whatever the request
 * left out, keeps what it set, and takes the architecture from the starting weights. Each run is
 * cancelled as soon as its recorded config has been read (the job itself is not the point here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartRunRequest } from '../../src-main/api/requests';
import { Sfumato } from '../../src-main/services/sfumato';
import { DEFAULT_TRAIN_CONFIG, FINE_TUNE_DEFAULTS } from '../../src-main/training/config';
import { EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let datasetId: string;

beforeAll(async () => {
  lib = tempDir('sfumato-finetune-');
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 32 })).dataset.id;
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

/** Start, read the recorded config from the store, cancel. */
async function recordedConfig(req: Omit<StartRunRequest, 'datasetId'>) {
  const { run, done } = await s.startRun({ datasetId, seed: 1, ...req, config: { steps: 1, batchSize: 2, workers: 1, previewEvery: 0, ...req.config } });
  const stored = (await s.api['runs:get']({ id: run.id })).run;
  await s.api['runs:cancel']({ id: run.id });
  await done;
  return stored;
}

describe('fine-tune defaults in the service', () => {
  it('the defaults are lr 5e-5, 50 warm-up steps, EMA 0.999', () => {
    expect(FINE_TUNE_DEFAULTS).toEqual({ lr: 5e-5, warmupSteps: 50, ema: 0.999 });
  });

  it('from the bundled model, with no lr/warm-up/EMA in the request: the fine-tune defaults and the model’s architecture', async () => {
    const run = await recordedConfig({ initModelId: 'emoji-32' });
    expect(run.initFrom).toMatchObject({ modelId: 'emoji-32' });
    expect(run.config).toMatchObject({ lr: 5e-5, warmupSteps: 50, ema: 0.999, imageSize: 32, baseChannels: 32, channelMults: [1, 2, 2], attentionResolutions: [8], resBlocks: 1, groups: 8, objective: 'eps' });
  });

  it('keeps an lr, warm-up and EMA the request sets explicitly', async () => {
    const run = await recordedConfig({ initModelId: 'emoji-32', config: { lr: 2e-5, warmupSteps: 0, ema: 0.99 } });
    expect(run.config).toMatchObject({ lr: 2e-5, warmupSteps: 0, ema: 0.99 });
  });

  it('from the class-conditional bundled model on an unlabelled folder: the run stays class-conditional with the model’s classes (its images train the null class)', async () => {
    const model = (await s.api['models:list']({})).models.find((m) => m.trainConfig.classConditional);
    expect(model, 'a class-conditional bundled model').toBeDefined();
    const run = await recordedConfig({ initModelId: model!.id });
    expect(run.config).toMatchObject({ classConditional: true, condDropout: 0.1, classes: model!.trainConfig.classes });
    await expect(s.startRun({ datasetId, seed: 1, initModelId: model!.id, config: { steps: 1, classConditional: false } })).rejects.toThrow(/starting model is class-conditional .*fine-tuning keeps that; drop the classConditional setting/);
  });

  it('a run from scratch keeps the ordinary defaults', async () => {
    const run = await recordedConfig({ config: { baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4 } });
    expect(run.initFrom).toBeNull();
    expect(run.config).toMatchObject({ lr: DEFAULT_TRAIN_CONFIG.lr, warmupSteps: DEFAULT_TRAIN_CONFIG.warmupSteps, ema: DEFAULT_TRAIN_CONFIG.ema });
  });
});
