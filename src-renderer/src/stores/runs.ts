import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import { parseIntList } from '../lib/format';
import type { JobProgress, Run, RunDetail, RunStatus, TrainConfig } from '../../../src-main/api/types';

/** Live numbers of a training run, from its `train` progress events. */
export interface LiveTraining {
  state: JobProgress['state'];
  step: number;
  total: number;
  loss?: number;
  stepsPerSec?: number;
  etaSec?: number;
  message?: string;
  error?: string;
}

export interface LossPoint {
  x: number;
  y: number;
}

/**
 * Settings of the Train form. Tiny defaults so a first try finishes in minutes even on the slow
 * tfjs `cpu` backend (a real model wants thousands of steps; see DEFAULT_TRAIN_CONFIG on the main side).
 */
export interface TrainForm {
  datasetId: string;
  steps: number;
  batchSize: number;
  baseChannels: number;
  channelMults: string;
  attention: string;
  groups: number;
  lr: number;
  checkpointEvery: number;
  /** empty: the service picks a random seed and records it */
  seed: string;
}

const ACTIVE: readonly RunStatus[] = ['queued', 'running', 'paused'];

export const useRunsStore = defineStore('runs', () => {
  const runs = ref<Run[]>([]);
  const listError = ref<string | null>(null);
  const form = reactive<TrainForm>({
    datasetId: '',
    steps: 20,
    batchSize: 8,
    baseChannels: 16,
    channelMults: '1,2',
    attention: 'none',
    groups: 8,
    lr: 1e-3,
    checkpointEvery: 10,
    seed: '',
  });
  const starting = ref(false);
  const startError = ref<string | null>(null);
  const selectedId = ref<string | null>(null);
  const selectedDetail = ref<RunDetail | null>(null);
  const live = reactive(new Map<string, LiveTraining>());
  const losses = reactive(new Map<string, LossPoint[]>());
  const cancelError = ref<string | null>(null);

  const selected = computed(() => runs.value.find((r) => r.id === selectedId.value) ?? null);
  const selectedLive = computed(() => (selectedId.value ? (live.get(selectedId.value) ?? null) : null));
  const selectedLosses = computed(() => (selectedId.value ? (losses.get(selectedId.value) ?? []) : []));

  function isActive(run: Run): boolean {
    return ACTIVE.includes(run.status);
  }

  function onTrainEvent(p: JobProgress): void {
    if (!p.runId) return;
    const prev = live.get(p.runId);
    // done = -1 marks a log line: keep the numbers, show the message.
    const isLog = p.done < 0;
    live.set(p.runId, {
      state: p.state,
      step: isLog ? (prev?.step ?? 0) : p.done,
      total: p.total,
      loss: p.loss ?? prev?.loss,
      stepsPerSec: isLog ? prev?.stepsPerSec : (p.stepsPerSec ?? prev?.stepsPerSec),
      etaSec: p.state === 'running' ? (isLog ? prev?.etaSec : p.etaSec) : undefined,
      message: p.message ?? prev?.message,
      error: p.error?.message,
    });
    if (!isLog && p.loss !== undefined && p.state === 'running') {
      const pts = losses.get(p.runId) ?? [];
      if (pts.length === 0 || pts[pts.length - 1].x < p.done) pts.push({ x: p.done, y: p.loss });
      losses.set(p.runId, pts);
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

  function buildConfig(): Partial<TrainConfig> {
    const ints: [string, number][] = [
      ['steps', form.steps],
      ['batch size', form.batchSize],
      ['base channels', form.baseChannels],
      ['groups', form.groups],
      ['checkpoint every', form.checkpointEvery],
    ];
    for (const [name, v] of ints) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${name}: give a whole number of at least 1.`);
    }
    if (typeof form.lr !== 'number' || !(form.lr > 0)) throw new Error('learning rate: give a number above 0, e.g. 0.001.');
    return {
      steps: form.steps,
      batchSize: form.batchSize,
      baseChannels: form.baseChannels,
      channelMults: parseIntList(form.channelMults, 'channel multipliers'),
      attentionResolutions: parseIntList(form.attention, 'attention resolutions'),
      groups: form.groups,
      lr: form.lr,
      checkpointEvery: Math.min(form.checkpointEvery, form.steps),
    };
  }

  function parseSeed(): number | undefined {
    const t = form.seed.trim();
    if (t === '') return undefined;
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error('seed: give a whole number from 0 to 4294967295, or leave it empty.');
    return n;
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
      config = buildConfig();
      seed = parseSeed();
    } catch (e) {
      startError.value = errorMessage(e);
      return;
    }
    starting.value = true;
    try {
      const { run } = await api['runs:start']({ datasetId: form.datasetId, config, ...(seed === undefined ? {} : { seed }) });
      if (!live.has(run.id)) live.set(run.id, { state: 'running', step: 0, total: run.config.steps });
      await refresh();
      await select(run.id);
    } catch (e) {
      startError.value = errorMessage(e);
    } finally {
      starting.value = false;
    }
  }

  /** Keep the form's dataset valid: the chosen one if it still exists, else the first listed. */
  function pickDataset(ids: readonly string[]): void {
    if (!ids.includes(form.datasetId)) form.datasetId = ids[0] ?? '';
  }

  async function cancel(id: string): Promise<void> {
    cancelError.value = null;
    try {
      await api['runs:cancel']({ id });
      await refresh();
    } catch (e) {
      cancelError.value = errorMessage(e);
    }
  }

  return {
    runs,
    listError,
    form,
    starting,
    startError,
    selectedId,
    selected,
    selectedDetail,
    selectedLive,
    selectedLosses,
    cancelError,
    live,
    isActive,
    refresh,
    select,
    start,
    cancel,
    pickDataset,
  };
});
