/**
 * The Train page's store (src-renderer/src/stores/runs.ts) against a fake api: the form becomes a
 * valid `runs:start` request or an inline error naming the field; live training events become
 * numbers, a loss curve and previews; fine-tune defaults follow the form's source.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { nextTick } from 'vue';
import { fake } from '../helpers/fake-api';
import { run, runDetail } from '../helpers/fixtures';
import { useRunsStore } from '../../../../src-renderer/src/stores/runs';
import { FINE_TUNE_DEFAULTS } from '../../../../src-main/api/fine-tune';
import { ApiError } from '../../../../src-main/api/errors';
import type { JobProgress, TrainConfig } from '../../../../src-main/api/types';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));
const progress = (over: Partial<JobProgress>): JobProgress => ({ jobId: 'job_1', kind: 'train', state: 'running', done: 0, total: 300, runId: 'run_a', ...over });

beforeEach(() => {
  fake.reset();
  localStorage.clear();
  setActivePinia(createPinia());
  fake.on('runs:list', () => ({ runs: [run('run_a', { status: 'running', step: 0 })] }));
});

describe('runs store: starting a run', () => {
  it('asks for a dataset first, without calling the service', async () => {
    const s = useRunsStore();
    await s.start();
    expect(s.startError).toMatch(/Choose a dataset/);
    expect(fake.requests('runs:start')).toEqual([]);
  });

  it('names the field of a bad number and sends nothing', async () => {
    const s = useRunsStore();
    s.form.datasetId = 'ds_a';
    s.form.batchSize = 0;
    await s.start();
    expect(s.startError).toBe('batch size: give a whole number of at least 1.');
    s.form.batchSize = 8;
    s.form.channelMults = '1,x';
    await s.start();
    expect(s.startError).toMatch(/^channel multipliers: give whole numbers/);
    s.form.channelMults = '1,2';
    s.form.seed = '-4';
    await s.start();
    expect(s.startError).toMatch(/^seed: /);
    expect(fake.requests('runs:start')).toEqual([]);
  });

  it('sends the form as a config, then lists and selects the new run', async () => {
    fake.on('runs:start', (req) => ({ run: run('run_new', { status: 'queued', step: 0, config: { ...(req.config as TrainConfig) } }) }));
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id, { losses: [{ step: 1, loss: 0.9 }] }) }));
    const s = useRunsStore();
    s.form.datasetId = 'ds_a';
    s.form.steps = 50; // checkpointEvery 100 is capped at the run length
    s.form.seed = ' 42 ';
    s.form.schedule = 'preset:cosine';
    s.form.attention = '8';
    await s.start();
    expect(s.startError).toBeNull();
    const [req] = fake.requests('runs:start');
    expect(req).toMatchObject({ datasetId: 'ds_a', seed: 42 });
    expect(req.config).toMatchObject({ steps: 50, checkpointEvery: 50, schedule: 'cosine', channelMults: [1, 2], attentionResolutions: [8], weightDecay: 0, minLr: 0 });
    expect(s.selectedId).toBe('run_new');
    expect(s.selectedLosses).toEqual([{ x: 1, y: 0.9 }]);
    expect(s.live.get('run_new')).toMatchObject({ state: 'running', step: 0, total: 50 });
  });

  it('the EDM schedule trains the EDM objective with uniform weighting', async () => {
    fake.on('runs:start', () => ({ run: run('r') }));
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id) }));
    const s = useRunsStore();
    s.form.datasetId = 'ds_a';
    s.form.schedule = 'preset:edm';
    s.form.objective = 'v';
    s.form.weighting = 'min-snr';
    await s.start();
    expect(fake.requests('runs:start')[0].config).toMatchObject({ schedule: 'edm', objective: 'edm', weighting: 'uniform' });
  });

  it('fine-tuning from a checkpoint sends its id and no architecture', async () => {
    fake.on('runs:start', () => ({ run: run('r') }));
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id) }));
    const s = useRunsStore();
    s.form.datasetId = 'ds_a';
    s.form.init = 'ckpt:ckpt_9';
    s.form.baseChannels = 0; // not checked: the checkpoint brings its architecture
    await s.start();
    const [req] = fake.requests('runs:start');
    expect(req).toMatchObject({ initCheckpointId: 'ckpt_9', resetOptimizer: false });
    expect(req.config).not.toHaveProperty('baseChannels');
    expect(req.config).not.toHaveProperty('schedule');
  });

  it('a LoRA fine-tune sends its rank (alpha = rank, attention and conv); a bad rank names the field; scratch runs never send it', async () => {
    fake.on('runs:start', () => ({ run: run('r') }));
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id) }));
    const s = useRunsStore();
    s.form.datasetId = 'ds_a';
    s.form.init = 'model:emoji-32';
    s.form.lora = true;
    s.form.loraRank = 0;
    await s.start();
    expect(s.startError).toMatch(/LoRA rank: give a whole number from 1 to 256/);
    expect(fake.requests('runs:start')).toEqual([]);
    s.form.loraRank = 4;
    await s.start();
    expect(fake.requests('runs:start')[0].config).toMatchObject({ lora: { rank: 4, alpha: 4, targets: ['attn', 'conv'] } });
    s.form.init = '';
    await s.start();
    expect(fake.requests('runs:start')[1].config).not.toHaveProperty('lora');
  });

  it("shows the service's error message", async () => {
    fake.on('runs:start', () => {
      throw new ApiError('conflict', 'Dataset ds_a is being deleted; pick another.');
    });
    const s = useRunsStore();
    s.form.datasetId = 'ds_a';
    await s.start();
    expect(s.startError).toBe('Dataset ds_a is being deleted; pick another.');
    expect(s.starting).toBe(false);
  });
});

describe('runs store: presets and fine-tune defaults', () => {
  it('a fine-tune source brings the fine-tune lr, warm-up and EMA; scratch brings the preset back', async () => {
    const s = useRunsStore();
    s.applyPreset('small');
    expect(s.form.lr).toBe(2e-4);
    s.form.init = 'model:emoji';
    await nextTick();
    expect({ lr: s.form.lr, warmupSteps: s.form.warmupSteps, ema: s.form.ema }).toEqual(FINE_TUNE_DEFAULTS);
    s.form.init = '';
    await nextTick();
    expect({ lr: s.form.lr, warmupSteps: s.form.warmupSteps, ema: s.form.ema }).toEqual({ lr: 2e-4, warmupSteps: 0, ema: 0.999 });
  });

  it('a value the user typed stays when the source changes', async () => {
    const s = useRunsStore();
    s.form.lr = 3e-3;
    s.form.init = 'ckpt:c1';
    await nextTick();
    expect(s.form.lr).toBe(3e-3);
    expect(s.form.warmupSteps).toBe(FINE_TUNE_DEFAULTS.warmupSteps);
  });

  it('attention for a preset follows the image size', () => {
    const s = useRunsStore();
    expect(s.presetAttention('small', 32)).toBe('8');
    expect(s.presetAttention('tiny', 32)).toBe('none');
  });
});

describe('runs store: live training events', () => {
  it('keeps the latest numbers; a log line keeps the step and shows its message', async () => {
    const s = useRunsStore();
    fake.emit(progress({ done: 10, loss: 0.5, lr: 1e-3, gradNorm: 2, stepsPerSec: 5, etaSec: 58 }));
    fake.emit(progress({ done: -1, message: 'checkpoint written' }));
    expect(s.live.get('run_a')).toMatchObject({ step: 10, total: 300, loss: 0.5, lr: 1e-3, stepsPerSec: 5, etaSec: 58, message: 'checkpoint written' });
    fake.emit(progress({ state: 'failed', done: 12, error: { code: 'internal', message: 'out of memory' } }));
    expect(s.live.get('run_a')).toMatchObject({ state: 'failed', step: 12, etaSec: undefined, error: 'out of memory' });
    await flush();
  });

  it('builds the loss curve from increasing steps only, with lr and gradient norm beside it', async () => {
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id) }));
    const s = useRunsStore();
    await s.select('run_a');
    for (const [done, loss] of [
      [1, 0.9],
      [2, 0.8],
      [2, 0.7], // a repeated step (e.g. reconnect) is not a new point
      [3, 0.6],
    ]) {
      fake.emit(progress({ done, loss, lr: 1e-3, gradNorm: done }));
    }
    fake.emit(progress({ done: 4 })); // no loss: no point
    expect(s.selectedLosses).toEqual([
      { x: 1, y: 0.9 },
      { x: 2, y: 0.8 },
      { x: 3, y: 0.6 },
    ]);
    expect(s.selectedExtras).toEqual({ x: [1, 2, 3], lr: [1e-3, 1e-3, 1e-3], grad: [1, 2, 3] });
    await flush();
  });

  it('merges stored previews with those announced live, by step, once each', async () => {
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id, { previews: [{ step: 50, file: 'p50.png' }] }) }));
    const s = useRunsStore();
    await s.select('run_a');
    fake.emit(progress({ done: 100, preview: 'p100.png' }));
    fake.emit(progress({ done: 101, preview: 'p100.png' }));
    fake.emit(progress({ done: 50, preview: 'p50-again.png' }));
    expect(s.selectedPreviews.map((p) => p.file)).toEqual(['p50.png', 'p100.png']);
    await flush();
  });

  it('ignores time estimates and other kinds of job', () => {
    const s = useRunsStore();
    fake.emit(progress({ runId: 'estimate', done: 3 }));
    fake.emit({ jobId: 'j', kind: 'sample', state: 'running', done: 1, total: 4, runId: 'run_a' });
    expect(s.live.size).toBe(0);
  });

  it('reloads the list when a run it does not know reports', async () => {
    const s = useRunsStore();
    fake.emit(progress({ runId: 'run_a', done: 5 }));
    await flush();
    expect(s.runs.map((r) => r.id)).toEqual(['run_a']);
  });
});

describe('runs store: list and actions', () => {
  it('an unreachable service shows as the list error, and clears on the next success', async () => {
    fake.on('runs:list', () => {
      throw new ApiError('unavailable', 'Sfumato is not reachable. Is `sfumato serve` still running?');
    });
    const s = useRunsStore();
    await s.refresh();
    expect(s.listError).toMatch(/not reachable/);
    fake.on('runs:list', () => ({ runs: [] }));
    await s.refresh();
    expect(s.listError).toBeNull();
  });

  it('resumable runs: only those with a checkpoint to continue from', async () => {
    fake.on('runs:list', () => ({
      runs: [run('paused', { status: 'paused', step: 10 }), run('fresh-fail', { status: 'failed', step: 0 })],
    }));
    const s = useRunsStore();
    await s.refresh();
    expect(s.resumable.map((r) => r.id)).toEqual(['paused']);
    expect(s.canResume(s.runs[0])).toBe(true);
    expect(s.canResume(s.runs[1])).toBe(false); // nothing to resume from
  });

  it('resuming marks the run live at its step and selects it', async () => {
    fake.on('runs:resume', ({ id }) => ({ run: run(id, { status: 'running', step: 120 }) }));
    fake.on('runs:get', ({ id }) => ({ run: runDetail(id) }));
    const s = useRunsStore();
    await s.resume('run_a');
    expect(s.actionError).toBeNull();
    expect(s.live.get('run_a')).toMatchObject({ state: 'running', step: 120, total: 300 });
    expect(s.selectedId).toBe('run_a');
  });
});
