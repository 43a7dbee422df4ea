import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import { randomSeed } from '../lib/format';
import { OPTION_DEFAULTS, SAMPLER_INFO } from '../lib/samplers';
import type { BundledModel, Checkpoint, GenerateRequest, Run, SampleRecord, SamplerName, SamplerOptions } from '../../../src-main/api/types';

export type SeedMode = 'fixed' | 'random' | 'increment';

export interface SampleForm {
  /** `model:<id>`, `run:<id>` (latest checkpoint) or `ckpt:<id>` */
  source: string;
  sampler: SamplerName;
  steps: number;
  seed: number;
  seedMode: SeedMode;
  count: number;
  options: Required<SamplerOptions>;
}

export const useSampleStore = defineStore('sample', () => {
  const runs = ref<Run[]>([]);
  const checkpoints = ref<Checkpoint[]>([]);
  const models = ref<BundledModel[]>([]);
  const loadError = ref<string | null>(null);
  const form = reactive<SampleForm>({ source: '', sampler: 'dpmpp-2m', steps: 20, seed: randomSeed(), seedMode: 'increment', count: 4, options: { ...OPTION_DEFAULTS } });
  const generating = ref(false);
  const error = ref<string | null>(null);
  const results = ref<SampleRecord[]>([]);
  const cancelled = ref(false);
  const jobId = ref<string | null>(null);
  /** live predicted-x0 previews by image index */
  const previews = shallowRef<Map<number, string>>(new Map());
  const lastRequest = ref<GenerateRequest | null>(null);

  const { latest: sampleProgress } = useJobProgress(
    (p) => p.kind === 'sample',
    (p) => {
      if (!generating.value) return;
      jobId.value = p.jobId;
      if (p.previewImage && p.previewIndex !== undefined) {
        const m = new Map(previews.value);
        m.set(p.previewIndex, p.previewImage);
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

  /** Runs that can be sampled: trained runs with at least one checkpoint (bundled models are listed apart). */
  const sampleableRuns = computed(() => {
    const withCkpt = new Set(checkpoints.value.map((c) => c.runId));
    return runs.value.filter((r) => withCkpt.has(r.id) && !(r.datasetId === null && r.initFrom?.modelId));
  });
  const sources = computed(() => [
    ...models.value.map((m) => ({ id: `model:${m.id}`, group: 'Bundled models', label: `${m.name} · ${m.trainConfig.imageSize} px` })),
    ...sampleableRuns.value.map((r) => ({ id: `run:${r.id}`, group: 'Your runs (latest checkpoint)', label: `${r.id} · step ${r.step} · ${r.status}` })),
    ...checkpoints.value
      .filter((c) => sampleableRuns.value.some((r) => r.id === c.runId))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .map((c) => ({ id: `ckpt:${c.id}`, group: 'Checkpoints', label: `${c.runId} @ step ${c.step}` })),
  ]);

  async function refresh(): Promise<void> {
    try {
      const [r, c, m] = await Promise.all([api['runs:list']({}), api['checkpoints:list']({}), api['models:list']({})]);
      runs.value = r.runs;
      checkpoints.value = c.checkpoints;
      models.value = m.models;
      loadError.value = null;
      if (!sources.value.some((s) => s.id === form.source)) form.source = sources.value.find((s) => s.id.startsWith('run:'))?.id ?? sources.value[0]?.id ?? '';
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

  async function run(req: GenerateRequest): Promise<SampleRecord[] | null> {
    generating.value = true;
    sampleProgress.value = null;
    previews.value = new Map();
    error.value = null;
    lastRequest.value = req;
    try {
      const res = await api['sample:generate'](req);
      results.value = res.samples;
      cancelled.value = res.cancelled;
      return res.samples;
    } catch (e) {
      error.value = errorMessage(e);
      return null;
    } finally {
      generating.value = false;
      jobId.value = null;
    }
  }

  async function generate(): Promise<void> {
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
      error.value = 'count: give a whole number from 1 to 64.';
      return;
    }
    if (form.seedMode === 'random') newSeed();
    if (!Number.isInteger(form.seed) || form.seed < 0 || form.seed > 0xffffffff) {
      error.value = 'seed: give a whole number from 0 to 4294967295 (or press the dice).';
      return;
    }
    const req: GenerateRequest = {
      ...sourceReq(),
      count: form.count,
      seed: form.seed,
      sampler: form.sampler,
      ...(SAMPLER_INFO[form.sampler].steps ? { steps: form.steps } : {}),
      options: samplerOptions(),
    };
    const out = await run(req);
    if (out && form.seedMode === 'increment') form.seed = (form.seed + form.count) >>> 0;
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
      parentId: a.id,
    });
  }

  async function cancel(): Promise<void> {
    if (jobId.value) await api['jobs:cancel']({ id: jobId.value }).catch(() => undefined);
  }

  return {
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
    refresh,
    newSeed,
    generate,
    variations,
    img2img,
    interpolate,
    cancel,
  };
});
