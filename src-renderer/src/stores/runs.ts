import { defineStore } from 'pinia';
import { computed, reactive, ref, watch } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { useDatasetsStore } from './datasets';
import { errorMessage } from '../lib/errors';
import { parseIntList } from '../lib/format';
import { scheduleChoices } from '../lib/schedules';
import { usePresetsStore } from './presets';
import { FINE_TUNE_DEFAULTS } from '../../../src-main/api/fine-tune';
import type { JobProgress, LossWeighting, Objective, Run, RunDeleteResult, RunDetail, RunEstimate, RunPreview, RunStatus, ScheduleJson, TrainBackend, TrainConfig } from '../../../src-main/api/types';

/** Live numbers of a training run, from its `train` progress events. */
export interface LiveTraining {
  state: JobProgress['state'];
  step: number;
  total: number;
  loss?: number;
  lr?: number;
  gradNorm?: number;
  stepsPerSec?: number;
  etaSec?: number;
  preview?: string;
  message?: string;
  error?: string;
}

export interface LossPoint {
  x: number;
  y: number;
}

export type PresetId = 'tiny' | 'small' | 'smallset' | 'bench';

/** Starting points for the form; the attention resolution follows the dataset's image size. */
export const TRAIN_PRESETS: Record<PresetId, { label: string; blurb: string; values: Partial<TrainForm>; attentionDiv: number | null }> = {
  tiny: {
    label: 'Tiny',
    blurb: 'Minutes on a CPU. Rough shapes; for trying settings.',
    values: { steps: 300, batchSize: 8, baseChannels: 16, channelMults: '1,2', resBlocks: 1, groups: 8, lr: 1e-3, checkpointEvery: 100, previewEvery: 50, ema: 0.99 },
    attentionDiv: null,
  },
  small: {
    label: 'Small',
    blurb: 'About an hour on a CPU. Clean small images.',
    values: { steps: 3000, batchSize: 16, baseChannels: 32, channelMults: '1,2,2', resBlocks: 1, groups: 8, lr: 2e-4, checkpointEvery: 500, previewEvery: 250, ema: 0.999 },
    attentionDiv: 4,
  },
  smallset: {
    label: 'Small set',
    blurb: 'For 20–500 pictures: the Small model with labelled augmentation and dropout, so it learns the style instead of copying.',
    values: { steps: 3000, batchSize: 16, baseChannels: 32, channelMults: '1,2,2', resBlocks: 1, groups: 8, lr: 2e-4, checkpointEvery: 500, previewEvery: 250, ema: 0.999, augment: 0.15, dropout: 0.1 },
    attentionDiv: 4,
  },
  bench: {
    label: 'Bench',
    blurb: 'The benchmark UNet. Best; wants a GPU or a night.',
    values: { steps: 20000, batchSize: 16, baseChannels: 64, channelMults: '1,2,2,2', resBlocks: 2, groups: 16, lr: 2e-4, checkpointEvery: 1000, previewEvery: 1000, ema: 0.9999 },
    attentionDiv: 2,
  },
};

/** Settings of the Train form (text for lists, numbers otherwise). */
export interface TrainForm {
  datasetId: string;
  preset: PresetId | 'custom';
  /** '' = from scratch; `ckpt:<id>` or `model:<id>` = fine-tune */
  init: string;
  resetOptimizer: boolean;
  steps: number;
  batchSize: number;
  gradAccum: number;
  baseChannels: number;
  channelMults: string;
  attention: string;
  resBlocks: number;
  groups: number;
  dropout: number;
  optimizer: 'adam' | 'adamw';
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  lrSchedule: 'constant' | 'cosine';
  minLr: number;
  gradClip: number;
  ema: number;
  /** an id of scheduleChoices() */
  schedule: string;
  objective: Objective;
  weighting: LossWeighting;
  minSnrGamma: number;
  hflip: boolean;
  /** class-conditional training on a labelled dataset, and its label dropout */
  classConditional: boolean;
  condDropout: number;
  augment: number;
  /** fine-tuning only: LoRA adapters of this rank (alpha = rank, attention and conv layers) instead of every weight */
  lora: boolean;
  loraRank: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  previewEvery: number;
  backend: TrainBackend;
  workers: number;
  /** empty: the service picks a random seed and records it */
  seed: string;
}

/** The form fields whose defaults differ between training from scratch and fine-tuning. */
const TUNED = ['lr', 'warmupSteps', 'ema'] as const;
type Tuned = Record<(typeof TUNED)[number], number>;

const ACTIVE: readonly RunStatus[] = ['queued', 'running', 'paused'];
const RESUMABLE: readonly RunStatus[] = ['paused', 'interrupted', 'failed', 'cancelled'];

export const useRunsStore = defineStore('runs', () => {
  const runs = ref<Run[]>([]);
  const listError = ref<string | null>(null);
  const form = reactive<TrainForm>({
    datasetId: '',
    preset: 'tiny',
    init: '',
    resetOptimizer: false,
    steps: 300,
    batchSize: 8,
    gradAccum: 1,
    baseChannels: 16,
    channelMults: '1,2',
    attention: 'none',
    resBlocks: 1,
    groups: 8,
    dropout: 0,
    optimizer: 'adam',
    lr: 1e-3,
    weightDecay: 0,
    warmupSteps: 0,
    lrSchedule: 'constant',
    minLr: 0,
    gradClip: 1,
    ema: 0.99,
    schedule: 'preset:linear',
    objective: 'eps',
    weighting: 'uniform',
    minSnrGamma: 5,
    hflip: true,
    classConditional: false,
    condDropout: 0.1,
    augment: 0,
    lora: false,
    loraRank: 8,
    checkpointEvery: 100,
    keepCheckpoints: 3,
    previewEvery: 50,
    backend: 'auto',
    workers: 0,
    seed: '',
  });
  /**
   * What the form itself last put in the TUNED fields (a preset's values, or the fine-tune
   * defaults). A field that still holds it has not been edited since, so it follows the next
   * switch between scratch and fine-tune; a value the user typed stays.
   */
  const autoTuned: Tuned = { lr: form.lr, warmupSteps: form.warmupSteps, ema: form.ema };
  /** Scratch values of the TUNED fields for the chosen preset (presets train without warm-up). */
  function presetTuned(): Tuned {
    const v = form.preset === 'custom' ? {} : TRAIN_PRESETS[form.preset].values;
    return { lr: v.lr ?? 2e-4, warmupSteps: v.warmupSteps ?? 0, ema: v.ema ?? 0.999 };
  }
  function applyTuned(values: Tuned, force: boolean): void {
    for (const k of TUNED) {
      if (force || form[k] === autoTuned[k]) form[k] = values[k];
      autoTuned[k] = values[k];
    }
  }
  // Picking a base model or checkpoint brings the fine-tune lr, warm-up and EMA; going back to
  // "Scratch" brings the preset's again (each only where the user has not changed it).
  watch(
    () => form.init !== '',
    (fineTune, was) => {
      if (fineTune !== was) applyTuned(fineTune ? FINE_TUNE_DEFAULTS : presetTuned(), false);
    },
  );

  const starting = ref(false);
  const startError = ref<string | null>(null);
  const selectedId = ref<string | null>(null);
  const selectedDetail = ref<RunDetail | null>(null);
  const live = reactive(new Map<string, LiveTraining>());
  const losses = reactive(new Map<string, LossPoint[]>());
  /** lr and gradient norm per step, from live events only (the store keeps losses) */
  const extras = reactive(new Map<string, { x: number[]; lr: number[]; grad: number[] }>());
  const livePreviews = reactive(new Map<string, RunPreview[]>());
  const actionError = ref<string | null>(null);
  const estimate = ref<RunEstimate | null>(null);
  const estimating = ref(false);
  const estimateError = ref<string | null>(null);

  const selected = computed(() => runs.value.find((r) => r.id === selectedId.value) ?? null);
  const selectedLive = computed(() => (selectedId.value ? (live.get(selectedId.value) ?? null) : null));
  const selectedLosses = computed(() => (selectedId.value ? (losses.get(selectedId.value) ?? []) : []));
  const selectedExtras = computed(() => (selectedId.value ? (extras.get(selectedId.value) ?? null) : null));
  /** Preview grids of the selected run: stored ones merged with those announced live. */
  const selectedPreviews = computed(() => {
    const id = selectedId.value;
    if (!id) return [];
    const stored = selectedDetail.value?.id === id ? selectedDetail.value.previews : [];
    const byStep = new Map(stored.map((p) => [p.step, p]));
    for (const p of livePreviews.get(id) ?? []) if (!byStep.has(p.step)) byStep.set(p.step, p);
    return [...byStep.values()].sort((a, b) => a.step - b.step);
  });
  const resumable = computed(() => runs.value.filter((r) => r.status === 'paused' || r.status === 'interrupted'));

  function isActive(run: Run): boolean {
    return ACTIVE.includes(run.status);
  }
  function canResume(run: Run): boolean {
    return RESUMABLE.includes(run.status) && run.step > 0;
  }

  function onTrainEvent(p: JobProgress): void {
    if (!p.runId || p.runId === 'estimate') return;
    const prev = live.get(p.runId);
    // done = -1 marks a log line: keep the numbers, show the message.
    const isLog = p.done < 0;
    live.set(p.runId, {
      state: p.state,
      step: isLog ? (prev?.step ?? 0) : p.done,
      total: p.total,
      loss: p.loss ?? prev?.loss,
      lr: p.lr ?? prev?.lr,
      gradNorm: p.gradNorm ?? prev?.gradNorm,
      stepsPerSec: isLog ? prev?.stepsPerSec : (p.stepsPerSec ?? prev?.stepsPerSec),
      etaSec: p.state === 'running' ? (isLog ? prev?.etaSec : p.etaSec) : undefined,
      preview: p.preview ?? prev?.preview,
      message: p.message ?? prev?.message,
      error: p.error?.message,
    });
    if (!isLog && p.loss !== undefined && p.state === 'running') {
      const pts = losses.get(p.runId) ?? [];
      if (pts.length === 0 || pts[pts.length - 1].x < p.done) pts.push({ x: p.done, y: p.loss });
      losses.set(p.runId, pts);
      if (p.lr !== undefined || p.gradNorm !== undefined) {
        const e = extras.get(p.runId) ?? { x: [], lr: [], grad: [] };
        if (e.x.length === 0 || e.x[e.x.length - 1] < p.done) {
          e.x.push(p.done);
          e.lr.push(p.lr ?? NaN);
          e.grad.push(p.gradNorm ?? NaN);
        }
        extras.set(p.runId, e);
      }
    }
    if (p.preview && !isLog) {
      const list = livePreviews.get(p.runId) ?? [];
      if (!list.some((x) => x.file === p.preview)) list.push({ step: Math.max(0, p.done), file: p.preview, ...(p.memorisation ? { memorisation: p.memorisation } : {}), ...(p.heldOut ? { heldOut: p.heldOut } : {}) });
      livePreviews.set(p.runId, list);
    }
    // Status changes (started, finished) and runs started elsewhere: reload the list.
    const known = runs.value.find((r) => r.id === p.runId);
    if (!known || p.state !== 'running' || p.done === 0 || known.status !== 'running') void refresh();
  }
  useJobProgress((p) => p.kind === 'train', onTrainEvent);

  async function refresh(): Promise<void> {
    try {
      runs.value = (await api['runs:list']({})).runs;
      listError.value = null;
    } catch (e) {
      listError.value = errorMessage(e);
    }
  }

  async function select(id: string): Promise<void> {
    selectedId.value = id;
    try {
      const { run } = await api['runs:get']({ id });
      if (selectedId.value !== id) return;
      selectedDetail.value = run;
      // Loss history from the store, merged with live points that came after it.
      const stored = run.losses.map((l) => ({ x: l.step, y: l.loss }));
      const last = stored.length ? stored[stored.length - 1].x : -1;
      const newer = (losses.get(id) ?? []).filter((p) => p.x > last);
      losses.set(id, [...stored, ...newer]);
    } catch (e) {
      listError.value = errorMessage(e);
    }
  }

  /** A preset sets its values; while fine-tuning, lr, warm-up and EMA stay the fine-tune ones. */
  function applyPreset(id: PresetId): void {
    Object.assign(form, TRAIN_PRESETS[id].values);
    form.preset = id;
    applyTuned(form.init !== '' ? FINE_TUNE_DEFAULTS : presetTuned(), true);
  }

  /** The attention resolution a preset wants at this image size (none when it does not occur). */
  function presetAttention(id: PresetId, imageSize: number): string {
    const div = TRAIN_PRESETS[id].attentionDiv;
    return div ? String(imageSize / div) : 'none';
  }

  function buildConfig(fineTune: boolean): Partial<TrainConfig> {
    const ints: [string, number, number][] = [
      ['steps', form.steps, 1],
      ['batch size', form.batchSize, 1],
      ['gradient accumulation', form.gradAccum, 1],
      ['checkpoint every', form.checkpointEvery, 1],
      ['keep checkpoints', form.keepCheckpoints, 0],
      ['preview every', form.previewEvery, 0],
      ['warm-up steps', form.warmupSteps, 0],
      ['workers', form.workers, 0],
    ];
    if (!fineTune) ints.push(['base channels', form.baseChannels, 1], ['groups', form.groups, 1], ['res blocks', form.resBlocks, 1]);
    for (const [name, v, min] of ints) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${name}: give a whole number of at least ${min}.`);
    }
    if (typeof form.lr !== 'number' || !(form.lr > 0)) throw new Error('learning rate: give a number above 0, e.g. 0.001.');
    if (fineTune && form.lora && (typeof form.loraRank !== 'number' || !Number.isInteger(form.loraRank) || form.loraRank < 1 || form.loraRank > 256)) {
      throw new Error('LoRA rank: give a whole number from 1 to 256, e.g. 8.');
    }
    if (form.classConditional && (typeof form.condDropout !== 'number' || !(form.condDropout >= 0 && form.condDropout < 1))) {
      throw new Error('label dropout: give a number from 0 up to (not including) 1, e.g. 0.1.');
    }
    const config: Partial<TrainConfig> = {
      steps: form.steps,
      batchSize: form.batchSize,
      gradAccum: form.gradAccum,
      optimizer: form.optimizer,
      lr: form.lr,
      weightDecay: form.optimizer === 'adamw' ? form.weightDecay : 0,
      warmupSteps: form.warmupSteps,
      lrSchedule: form.lrSchedule,
      minLr: form.lrSchedule === 'cosine' ? form.minLr : 0,
      gradClip: form.gradClip,
      ema: form.ema,
      weighting: form.weighting,
      minSnrGamma: form.minSnrGamma,
      hflip: form.hflip,
      augment: form.augment,
      checkpointEvery: Math.min(form.checkpointEvery, form.steps),
      keepCheckpoints: form.keepCheckpoints,
      previewEvery: form.previewEvery,
      backend: form.backend,
      workers: form.workers,
      ...(form.classConditional ? { classConditional: true, condDropout: form.condDropout } : {}),
      // LoRA / LoCon (network/lora.ts): the base weights stay frozen; alpha = rank (scale 1)
      ...(fineTune && form.lora ? { lora: { rank: form.loraRank, alpha: form.loraRank, targets: ['attn', 'conv'] as ('attn' | 'conv')[] } } : {}),
    };
    if (!fineTune) {
      const choice = scheduleChoices(usePresetsStore().schedules).find((c) => c.id === form.schedule);
      const schedule: ScheduleJson | string = choice?.value ?? 'linear';
      const objective: Objective = typeof schedule === 'string' && schedule === 'edm' ? 'edm' : form.objective;
      Object.assign(config, {
        baseChannels: form.baseChannels,
        channelMults: parseIntList(form.channelMults, 'channel multipliers'),
        attentionResolutions: parseIntList(form.attention, 'attention resolutions'),
        resBlocks: form.resBlocks,
        groups: form.groups,
        dropout: form.dropout,
        // The contract takes a preset name or a JSON spec (the service resolves names).
        schedule: schedule as ScheduleJson,
        objective,
        weighting: objective === 'edm' ? 'uniform' : form.weighting,
      });
    }
    return config;
  }

  function parseSeed(): number | undefined {
    const t = form.seed.trim();
    if (t === '') return undefined;
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error('seed: give a whole number from 0 to 4294967295, or leave it empty.');
    return n;
  }

  function initOf(): { initCheckpointId?: string; initModelId?: string; resetOptimizer?: boolean } {
    if (form.init.startsWith('ckpt:')) return { initCheckpointId: form.init.slice(5), resetOptimizer: form.resetOptimizer };
    if (form.init.startsWith('model:')) return { initModelId: form.init.slice(6), resetOptimizer: true };
    return {};
  }

  /** "<dataset> · <preset> · <date>" (the service names a run itself when the dataset is not listed here). */
  function defaultName(): { name?: string } {
    const ds = useDatasetsStore().datasets.find((d) => d.id === form.datasetId);
    if (!ds) return {};
    const preset = (form.preset === 'custom' ? 'Custom' : TRAIN_PRESETS[form.preset].label) + (form.init ? ' fine-tune' : '');
    return { name: `${ds.name} · ${preset} · ${new Date().toISOString().slice(0, 10)}`.slice(0, 120) };
  }

  async function start(): Promise<void> {
    startError.value = null;
    if (!form.datasetId) {
      startError.value = 'Choose a dataset to train on (import one on the Datasets page).';
      return;
    }
    let config: Partial<TrainConfig>;
    let seed: number | undefined;
    try {
      config = buildConfig(form.init !== '');
      seed = parseSeed();
    } catch (e) {
      startError.value = errorMessage(e);
      return;
    }
    starting.value = true;
    try {
      const { run } = await api['runs:start']({ datasetId: form.datasetId, config, ...initOf(), ...(seed === undefined ? {} : { seed }), ...defaultName() });
      if (!live.has(run.id)) live.set(run.id, { state: 'running', step: 0, total: run.config.steps });
      await refresh();
      await select(run.id);
    } catch (e) {
      startError.value = errorMessage(e);
    } finally {
      starting.value = false;
    }
  }

  async function runEstimate(): Promise<void> {
    estimateError.value = null;
    estimate.value = null;
    if (!form.datasetId) {
      estimateError.value = 'Choose a dataset first.';
      return;
    }
    estimating.value = true;
    try {
      estimate.value = await api['runs:estimate']({ datasetId: form.datasetId, config: buildConfig(form.init !== '') });
    } catch (e) {
      estimateError.value = errorMessage(e);
    } finally {
      estimating.value = false;
    }
  }

  /** Keep the form's dataset valid: the chosen one if it still exists, else the first listed. */
  function pickDataset(ids: readonly string[]): void {
    if (!ids.includes(form.datasetId)) form.datasetId = ids[0] ?? '';
  }

  async function act(kind: 'runs:cancel' | 'runs:pause' | 'runs:resume', id: string): Promise<void> {
    actionError.value = null;
    try {
      const { run } = await api[kind]({ id });
      if (kind === 'runs:resume') live.set(run.id, { state: 'running', step: run.step, total: run.config.steps });
      await refresh();
      if (selectedId.value === id || kind === 'runs:resume') await select(id);
    } catch (e) {
      actionError.value = errorMessage(e);
    }
  }

  /** Renames a run; the error (say, an empty name) is thrown for the caller to show beside the field. */
  async function rename(id: string, name: string): Promise<Run> {
    const { run } = await api['runs:rename']({ id, name });
    runs.value = runs.value.map((r) => (r.id === id ? run : r));
    if (selectedDetail.value?.id === id) selectedDetail.value = { ...selectedDetail.value, name: run.name };
    return run;
  }

  /** Deletes a run (the service keeps checkpoints gallery images came from); the next run is selected. */
  async function remove(id: string): Promise<RunDeleteResult> {
    const r = await api['runs:delete']({ id });
    live.delete(id);
    losses.delete(id);
    await refresh();
    if (selectedId.value === id) {
      selectedId.value = null;
      selectedDetail.value = null;
      if (runs.value[0]) await select(runs.value[0].id);
    }
    return r;
  }

  return {
    rename,
    remove,
    runs,
    resumable,
    listError,
    form,
    starting,
    startError,
    selectedId,
    selected,
    selectedDetail,
    selectedLive,
    selectedLosses,
    selectedExtras,
    selectedPreviews,
    actionError,
    estimate,
    estimating,
    estimateError,
    live,
    isActive,
    canResume,
    refresh,
    select,
    start,
    runEstimate,
    applyPreset,
    /** the form's training settings (a saved training preset's body) */
    buildConfig,
    presetAttention,
    pickDataset,
    cancel: (id: string) => act('runs:cancel', id),
    pause: (id: string) => act('runs:pause', id),
    resume: (id: string) => act('runs:resume', id),
  };
});
