import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import { randomSeed } from '../lib/format';
import { OPTION_DEFAULTS, SAMPLER_INFO } from '../lib/samplers';
import { bestSource } from '../lib/bestSource';
import { applyRecipe as applyToForm, recordRecipe, type Applied } from '../lib/recipe';
import type { RecipeSettings } from '../../../src-main/api/recipe';
import type { GenerateRequest } from '../../../src-main/api/requests';
import type { BundledModel, Checkpoint, ImportedModel, Run, SampleRecord, SamplerName, SamplerOptions } from '../../../src-main/api/types';

export type SeedMode = 'fixed' | 'random' | 'increment';

export interface SampleForm {
  /** `model:<id>`, `run:<id>` (latest checkpoint) or `ckpt:<id>` */
  source: string;
  sampler: SamplerName;
  steps: number;
  seed: number;
  seedMode: SeedMode;
  /** images per batch (one sample:generate call) */
  count: number;
  /** batches run one after another, each with the next seeds */
  batches: number;
  options: Required<SamplerOptions>;
}

/** localStorage: the source of the last generation on this device (the first rule of bestSource). */
const LAST_SOURCE_KEY = 'sfumato.sample.lastSource';
function lastSource(): string | null {
  try {
    return localStorage.getItem(LAST_SOURCE_KEY);
  } catch {
    return null;
  }
}
function saveLastSource(source: string): void {
  try {
    localStorage.setItem(LAST_SOURCE_KEY, source);
  } catch {
    /* private mode: the default falls back to the other rules */
  }
}

export const useSampleStore = defineStore('sample', () => {
  const runs = ref<Run[]>([]);
  const checkpoints = ref<Checkpoint[]>([]);
  const models = ref<BundledModel[]>([]);
  const imported = ref<ImportedModel[]>([]);
  const loadError = ref<string | null>(null);
  const form = reactive<SampleForm>({ source: '', sampler: 'dpmpp-2m', steps: 20, seed: randomSeed(), seedMode: 'increment', count: 4, batches: 1, options: { ...OPTION_DEFAULTS } });
  const generating = ref(false);
  const error = ref<string | null>(null);
  const results = ref<SampleRecord[]>([]);
  const cancelled = ref(false);
  const jobId = ref<string | null>(null);
  /** live predicted-x0 previews by image index */
  const previews = shallowRef<Map<number, string>>(new Map());
  const lastRequest = ref<GenerateRequest | null>(null);
  /** tiles of the whole generation (all batches), batch shown now (1-based) and how many */
  const tileTotal = ref(0);
  const batchNo = ref(0);
  const batchTotal = ref(0);
  /** the first tile of the batch running now: previews of image i go to tile batchOffset + i */
  let batchOffset = 0;
  let stopRequested = false;
  /** "Send to img2img": Generate re-noises this gallery image instead of starting from noise */
  const img2imgSource = ref<SampleRecord | null>(null);
  const img2imgStrength = ref(0.6);
  /** the last results (this session first, then the gallery's newest), newest first */
  const history = ref<SampleRecord[]>([]);
  const HISTORY_SIZE = 20;
  /** class-conditional models: the class to sample ('' = unconditional) and the guidance scale W */
  const sampleClass = ref('');
  const guidance = ref(3);

  const { latest: sampleProgress } = useJobProgress(
    (p) => p.kind === 'sample',
    (p) => {
      if (!generating.value) return;
      jobId.value = p.jobId;
      if (p.previewImage && p.previewIndex !== undefined) {
        const m = new Map(previews.value);
        m.set(batchOffset + p.previewIndex, p.previewImage);
        previews.value = m;
      }
    },
  );
  const progress = computed(() => (generating.value ? sampleProgress.value : null));
  // A run that finishes (or writes its last checkpoint) becomes sampleable: reload the lists.
  useJobProgress(
    (p) => p.kind === 'train' && p.state !== 'running',
    () => void refresh(),
  );

  /** Runs that can be sampled: training runs with at least one checkpoint (models are listed apart). */
  const sampleableRuns = computed(() => {
    const withCkpt = new Set(checkpoints.value.map((c) => c.runId));
    return runs.value.filter((r) => withCkpt.has(r.id));
  });
  const sources = computed(() => [
    ...models.value.map((m) => ({ id: `model:${m.id}`, group: 'Bundled models', label: `${m.name} · ${m.trainConfig.imageSize} px` })),
    ...imported.value.map((m) => ({ id: `model:${m.id}`, group: 'Imported models', label: `${m.name} · ${m.imageSize} px · ONNX` })),
    ...sampleableRuns.value.map((r) => ({ id: `run:${r.id}`, group: 'Your runs (latest checkpoint)', label: `${r.name} · step ${r.step} · ${r.status}` })),
    ...checkpoints.value
      .filter((c) => sampleableRuns.value.some((r) => r.id === c.runId))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .map((c) => ({ id: `ckpt:${c.id}`, group: 'Checkpoints', label: `${runs.value.find((r) => r.id === c.runId)?.name ?? c.runId} @ step ${c.step}` })),
  ]);
  /** The best available model (lib/bestSource.ts; its rule is the Model field's tooltip). */
  const defaultSource = computed(() =>
    bestSource(
      { models: models.value.map((m) => ({ id: m.id, imageSize: m.trainConfig.imageSize })), imported: imported.value, runs: sampleableRuns.value },
      lastSource(),
      new Set(sources.value.map((x) => x.id)),
    ),
  );

  /** The classes of the chosen model ([] = unconditional): a run's or checkpoint's run config, a
   *  bundled model's train config, an imported ONNX UNet's signature (its class_label input). */
  const sourceClasses = computed((): string[] => {
    const [kind, id] = form.source.split(/:(.*)/s);
    const ofRun = (r: Run | undefined) => (r?.config.classConditional ? (r.config.classes ?? []) : []);
    if (kind === 'run') return ofRun(runs.value.find((r) => r.id === id));
    if (kind === 'ckpt') return ofRun(runs.value.find((r) => r.id === checkpoints.value.find((c) => c.id === id)?.runId));
    if (kind === 'model') {
      const m = models.value.find((x) => x.id === id);
      if (m) return m.trainConfig.classConditional ? (m.trainConfig.classes ?? []) : [];
      const sig = imported.value.find((x) => x.id === id)?.signature as { classes?: string[] } | undefined;
      return sig?.classes ?? [];
    }
    return [];
  });
  /** the request's class and guidance fields for the chosen model (none for unconditional ones) */
  function guidanceReq(): Pick<GenerateRequest, 'class' | 'guidance'> {
    if (!sourceClasses.value.length) return {};
    return sampleClass.value ? { class: sampleClass.value, guidance: guidance.value } : {};
  }
  /** a record's class and guidance, to make more of the same (variations, img2img, interpolation) */
  const guidanceOf = (r: SampleRecord): Pick<GenerateRequest, 'class' | 'guidance'> => (r.guidance?.class ? { class: r.guidance.class, guidance: r.guidance.scale } : {});

  async function refresh(): Promise<void> {
    try {
      const [r, c, m] = await Promise.all([api['runs:list']({}), api['checkpoints:list']({}), api['models:list']({})]);
      runs.value = r.runs;
      checkpoints.value = c.checkpoints;
      models.value = m.models;
      imported.value = m.imported;
      loadError.value = null;
      if (!sources.value.some((s) => s.id === form.source)) form.source = defaultSource.value;
    } catch (e) {
      loadError.value = errorMessage(e);
    }
  }

  function newSeed(): void {
    form.seed = randomSeed();
  }

  function sourceReq(): Pick<GenerateRequest, 'modelId' | 'runId' | 'checkpointId'> {
    const [kind, id] = [form.source.slice(0, form.source.indexOf(':')), form.source.slice(form.source.indexOf(':') + 1)];
    return kind === 'model' ? { modelId: id } : kind === 'ckpt' ? { checkpointId: id } : { runId: id };
  }

  function samplerOptions(): SamplerOptions {
    const o: SamplerOptions = {};
    for (const k of SAMPLER_INFO[form.sampler].options) (o as Record<string, unknown>)[k] = form.options[k];
    return o;
  }

  const tilesOf = (req: GenerateRequest) => (req.origin?.kind === 'interpolation' ? req.origin.frames : req.count);

  function remember(samples: SampleRecord[]): void {
    const ids = new Set(samples.map((x) => x.id));
    history.value = [...samples, ...history.value.filter((x) => !ids.has(x.id))].slice(0, HISTORY_SIZE);
  }

  /** The gallery's newest images, after the ones of this session. */
  async function loadHistory(): Promise<void> {
    try {
      const res = await api['gallery:query']({ limit: HISTORY_SIZE, sort: 'newest' });
      const have = new Set(history.value.map((x) => x.id));
      history.value = [...history.value, ...res.samples.filter((x) => !have.has(x.id))].slice(0, HISTORY_SIZE);
    } catch {
      /* the strip stays as it is */
    }
  }

  /** Runs the requests one after another (batch count); Stop ends the running one and skips the rest. */
  async function runBatches(reqs: GenerateRequest[]): Promise<SampleRecord[] | null> {
    generating.value = true;
    sampleProgress.value = null;
    previews.value = new Map();
    error.value = null;
    cancelled.value = false;
    stopRequested = false;
    tileTotal.value = reqs.reduce((n, r) => n + tilesOf(r), 0);
    batchTotal.value = reqs.length;
    batchOffset = 0;
    // Results replace the old ones once the first batch is back (an error before keeps them).
    const done: SampleRecord[] = [];
    try {
      for (let b = 0; b < reqs.length; b++) {
        if (stopRequested) {
          cancelled.value = true;
          break;
        }
        batchNo.value = b + 1;
        lastRequest.value = reqs[b];
        sampleProgress.value = null;
        const res = await api['sample:generate'](reqs[b]);
        done.push(...res.samples);
        if (b === 0) saveLastSource(form.source);
        results.value = [...done];
        remember([...res.samples].reverse());
        if (res.cancelled) {
          cancelled.value = true;
          break;
        }
        batchOffset += tilesOf(reqs[b]);
      }
      return done;
    } catch (e) {
      error.value = errorMessage(e);
      return done.length ? done : null;
    } finally {
      generating.value = false;
      jobId.value = null;
    }
  }

  function run(req: GenerateRequest): Promise<SampleRecord[] | null> {
    return runBatches([req]);
  }

  async function generate(): Promise<void> {
    if (generating.value) return;
    error.value = null;
    if (!form.source) {
      error.value = 'Choose a model: a bundled one or a run with a checkpoint (train one on the Train page).';
      return;
    }
    if (SAMPLER_INFO[form.sampler].steps && (!Number.isInteger(form.steps) || form.steps < 1 || form.steps > 1000)) {
      error.value = 'steps: give a whole number from 1 to 1000.';
      return;
    }
    if (!Number.isInteger(form.count) || form.count < 1 || form.count > 64) {
      error.value = 'Batch size: give a whole number from 1 to 64.';
      return;
    }
    if (!Number.isInteger(form.batches) || form.batches < 1 || form.batches > 100) {
      error.value = 'Batch count: give a whole number from 1 to 100.';
      return;
    }
    if (form.seedMode === 'random') newSeed();
    if (!Number.isInteger(form.seed) || form.seed < 0 || form.seed > 0xffffffff) {
      error.value = 'seed: give a whole number from 0 to 4294967295 (or press the dice).';
      return;
    }
    // Batch b starts where batch b−1 ended (seed + b·size), as one bigger batch would; in random
    // mode every batch draws its own seed.
    const seeds = Array.from({ length: form.batches }, (_, b) => (b === 0 || form.seedMode !== 'random' ? (form.seed + b * form.count) % 2 ** 32 : randomSeed()));
    const src = img2imgSource.value;
    const reqs: GenerateRequest[] = seeds.map((seed) => ({
      ...sourceReq(),
      count: form.count,
      seed,
      sampler: form.sampler,
      ...(SAMPLER_INFO[form.sampler].steps ? { steps: form.steps } : {}),
      options: samplerOptions(),
      ...guidanceReq(),
      ...(src ? { origin: { kind: 'img2img' as const, strength: img2imgStrength.value, sourceSampleId: src.id } } : {}),
    }));
    const out = await runBatches(reqs);
    if (out && !error.value && form.seedMode === 'increment') form.seed = (form.seed + form.count * form.batches) % 2 ** 32;
  }

  function lists() {
    return { models: models.value, runs: runs.value, checkpoints: checkpoints.value, sources: sources.value };
  }

  /** Fills the form from a recipe (a gallery record or a dropped PNG); nothing is generated. */
  async function applyRecipe(settings: RecipeSettings): Promise<Applied> {
    await refresh();
    const applied = applyToForm(form, settings, lists());
    if (settings.class !== undefined) sampleClass.value = settings.class ?? '';
    if (settings.guidance !== undefined) guidance.value = settings.guidance;
    return applied;
  }

  /** "Reuse these settings": the form takes the record's model, sampler, options, steps and seed. */
  function reuse(rec: SampleRecord): Promise<Applied> {
    img2imgSource.value = null;
    return applyRecipe(recordRecipe(rec));
  }

  /** "Send to img2img": the record's settings, and the record as the source of the next Generate. */
  async function sendToImg2img(rec: SampleRecord): Promise<Applied> {
    const a = await applyRecipe(recordRecipe(rec));
    img2imgSource.value = rec;
    return a;
  }

  /** Variations of a result: the same seed blended toward new subseeds. */
  function variations(s: SampleRecord, strength: number): Promise<SampleRecord[] | null> {
    return run({
      checkpointId: s.checkpoint.id,
      count: 4,
      seed: s.seed,
      sampler: s.sampler,
      steps: s.steps,
      options: s.samplerOptions,
      origin: { kind: 'variation', subseed: randomSeed(), strength },
      ...guidanceOf(s),
      parentId: s.id,
    });
  }

  /** SDEdit from a result: re-noise `strength` of the way and denoise again. */
  function img2img(s: SampleRecord, strength: number): Promise<SampleRecord[] | null> {
    return run({
      checkpointId: s.checkpoint.id,
      count: 4,
      seed: randomSeed(),
      sampler: s.sampler,
      steps: s.steps,
      options: s.samplerOptions,
      origin: { kind: 'img2img', strength, sourceSampleId: s.id },
      ...guidanceOf(s),
    });
  }

  /** A seed-to-seed walk from one result to another (same checkpoint). */
  function interpolate(a: SampleRecord, b: SampleRecord, frames: number): Promise<SampleRecord[] | null> {
    return run({
      checkpointId: a.checkpoint.id,
      count: frames,
      seed: a.seed,
      sampler: a.sampler,
      steps: a.steps,
      options: a.samplerOptions,
      origin: { kind: 'interpolation', seedB: b.seed, frames },
      ...guidanceOf(a),
      parentId: a.id,
    });
  }

  async function cancel(): Promise<void> {
    stopRequested = true;
    if (jobId.value) await api['jobs:cancel']({ id: jobId.value }).catch(() => undefined);
  }

  return {
    sampleClass,
    guidance,
    sourceClasses,
    runs,
    checkpoints,
    models,
    loadError,
    form,
    generating,
    error,
    results,
    cancelled,
    progress,
    previews,
    sources,
    sampleableRuns,
    lastRequest,
    tileTotal,
    batchNo,
    batchTotal,
    img2imgSource,
    img2imgStrength,
    history,
    loadHistory,
    applyRecipe,
    reuse,
    sendToImg2img,
    refresh,
    newSeed,
    generate,
    variations,
    img2img,
    interpolate,
    cancel,
  };
});
