import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import { randomSeed } from '../lib/format';
import type { BundledModel, Dataset, Run, SampleRecord, TrainConfig } from '../../../src-main/api/types';

/**
 * The first-run flow behind the Home page's one button. With a bundled base model: sample a 2x2
 * grid from it (DPM-Solver++(2M), 12 steps). Without one: import the bundled demo images, train a
 * tiny model for 40 steps and sample from that — slower, but still images within about a minute.
 */
export const FIRST_RUN_SAMPLER = 'dpmpp-2m' as const;
export const FIRST_RUN_STEPS = 12;
/** classifier-free guidance of the first images of a class-conditional model: a moderate scale
 *  (higher W trades variety for class likeness, Ho & Salimans 2022; W = 3 measured 0.80 class
 *  accuracy against 0.56 at W = 1 on Fashion-MNIST, docs/design-notes.md) */
export const FIRST_RUN_GUIDANCE = 3;
/** the category picked first when the model has it (faces read at a glance) */
export const FIRST_RUN_CATEGORY = 'smileys';
export const FALLBACK_TRAIN: Partial<TrainConfig> = {
  batchSize: 8,
  baseChannels: 16,
  channelMults: [1, 2],
  attentionResolutions: [],
  groups: 8,
  lr: 2e-3,
  checkpointEvery: 40,
  keepCheckpoints: 1,
  previewEvery: 0,
  ema: 0.9,
  // Predicting x0 directly: an undertrained x0 model gives soft, plausible blobs of colour, where an
  // undertrained eps model's x0 estimate (x - sigma·eps)/alpha blows up into saturated noise.
  objective: 'x0',
  steps: 60,
};
const FALLBACK_SIZE = 16;

export type Stage = 'idle' | 'import' | 'train' | 'sample' | 'done' | 'failed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const useFirstRunStore = defineStore('firstRun', () => {
  const loaded = ref(false);
  const datasets = ref<Dataset[]>([]);
  const runs = ref<Run[]>([]);
  const models = ref<BundledModel[]>([]);
  const recent = ref<SampleRecord[]>([]);
  const sampleTotal = ref(0);
  const loadError = ref<string | null>(null);

  const stage = ref<Stage>('idle');
  const stageText = ref('');
  const stepDone = ref(0);
  const stepTotal = ref(0);
  const error = ref<string | null>(null);
  const results = ref<SampleRecord[]>([]);
  const previews = shallowRef<(string | null)[]>([null, null, null, null]);
  const startedAt = ref(0);
  const elapsedMs = ref(0);

  const empty = computed(() => loaded.value && datasets.value.length === 0 && runs.value.length === 0 && sampleTotal.value === 0);
  // a class-conditional bundled model first: the first images can then be of a chosen category
  const model = computed(() => models.value.find((m) => (m.trainConfig.classes?.length ?? 0) > 0 && m.trainConfig.classConditional) ?? models.value[0] ?? null);
  const classes = computed(() => (model.value?.trainConfig.classConditional ? (model.value.trainConfig.classes ?? []) : []));
  /** the category asked for ('' = any: the unconditional model) and the guidance scale */
  const category = ref('');
  const guidance = ref(FIRST_RUN_GUIDANCE);
  const busy = computed(() => stage.value === 'import' || stage.value === 'train' || stage.value === 'sample');

  useJobProgress(
    (p) => busy.value && (p.kind === 'sample' || p.kind === 'train' || p.kind === 'import'),
    (p) => {
      if (p.done >= 0 && p.total > 0) {
        stepDone.value = p.done;
        stepTotal.value = p.total;
      }
      if (p.kind === 'sample' && p.previewImage && p.previewIndex !== undefined && p.previewIndex < 4) {
        const next = [...previews.value];
        next[p.previewIndex] = p.previewImage;
        previews.value = next;
      }
    },
  );

  async function load(): Promise<void> {
    try {
      const [d, r, g, m] = await Promise.all([
        api['datasets:list']({}),
        api['runs:list']({}),
        api['gallery:query']({ limit: 12 }),
        api['models:list']({}),
      ]);
      datasets.value = d.datasets;
      runs.value = r.runs;
      recent.value = g.samples;
      sampleTotal.value = g.total;
      models.value = m.models;
      if (!category.value && classes.value.length) category.value = classes.value.includes(FIRST_RUN_CATEGORY) ? FIRST_RUN_CATEGORY : classes.value[0];
      loadError.value = null;
    } catch (e) {
      loadError.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  function setStage(s: Stage, text: string): void {
    stage.value = s;
    stageText.value = text;
    stepDone.value = 0;
    stepTotal.value = 0;
  }

  async function waitForRun(id: string): Promise<Run> {
    for (;;) {
      const { run } = await api['runs:get']({ id });
      if (!['queued', 'running'].includes(run.status)) return run;
      await sleep(400);
    }
  }

  /** Bundled model if there is one, else demo dataset + tiny training; then a 2x2 grid. */
  /** The bundled model's recommended sampler (manifest), else DPM-Solver++(2M) in 12 steps. */
  const firstSampler = computed(() => model.value?.sampler ?? { name: FIRST_RUN_SAMPLER, steps: FIRST_RUN_STEPS, options: undefined });

  async function makeFirstImages(demoDir: string | null): Promise<void> {
    if (busy.value) return;
    error.value = null;
    results.value = [];
    previews.value = [null, null, null, null];
    startedAt.value = performance.now();
    const tick = setInterval(() => (elapsedMs.value = performance.now() - startedAt.value), 250);
    try {
      let source: { modelId: string } | { runId: string };
      if (model.value) {
        source = { modelId: model.value.id };
      } else {
        if (!demoDir) throw new Error('This install has neither a bundled model nor the demo images. Import a folder of your own images on the Datasets page.');
        setStage('import', 'Preparing the demo images');
        let dataset = datasets.value.find((d) => d.sourceDir === demoDir && d.imageSize === FALLBACK_SIZE);
        if (!dataset) dataset = (await api['datasets:import']({ dir: demoDir, name: 'Demo emoji', imageSize: FALLBACK_SIZE })).dataset;
        setStage('train', 'Teaching a tiny model what emoji look like');
        const { run } = await api['runs:start']({ datasetId: dataset.id, seed: 7, config: FALLBACK_TRAIN });
        const done = await waitForRun(run.id);
        if (done.status !== 'completed') throw new Error(`The quick training run ended ${done.status}: ${done.error ?? 'no reason given'}`);
        source = { runId: run.id };
      }
      setStage('sample', 'Denoising four images');
      const s = firstSampler.value;
      const cls = 'modelId' in source && category.value && classes.value.includes(category.value) ? { class: category.value, guidance: guidance.value } : {};
      const res = await api['sample:generate']({ ...source, count: 4, seed: randomSeed(), sampler: s.name, steps: s.steps, options: s.options, ...cls });
      results.value = res.samples;
      setStage('done', 'Your first images');
      await load();
    } catch (e) {
      error.value = errorMessage(e);
      stage.value = 'failed';
    } finally {
      clearInterval(tick);
      elapsedMs.value = performance.now() - startedAt.value;
    }
  }

  function reset(): void {
    stage.value = 'idle';
    results.value = [];
    error.value = null;
  }

  return {
    firstSampler,
    reset,
    loaded,
    datasets,
    runs,
    models,
    recent,
    sampleTotal,
    loadError,
    empty,
    model,
    classes,
    category,
    guidance,
    busy,
    stage,
    stageText,
    stepDone,
    stepTotal,
    error,
    results,
    previews,
    elapsedMs,
    load,
    makeFirstImages,
  };
});
