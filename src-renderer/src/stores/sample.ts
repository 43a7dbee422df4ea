import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import { randomSeed } from '../lib/format';
import type { Checkpoint, Run, SampleRecord } from '../../../src-main/api/types';

export interface SampleForm {
  runId: string;
  /** '' = the run's latest checkpoint */
  checkpointId: string;
  steps: number;
  seed: number;
  count: number;
}

export const useSampleStore = defineStore('sample', () => {
  const runs = ref<Run[]>([]);
  const checkpoints = ref<Checkpoint[]>([]);
  const loadError = ref<string | null>(null);
  const form = reactive<SampleForm>({ runId: '', checkpointId: '', steps: 20, seed: randomSeed(), count: 4 });
  const generating = ref(false);
  const error = ref<string | null>(null);
  const results = ref<SampleRecord[]>([]);
  const cancelled = ref(false);

  // `sample:generate` resolves when done; its progress events stream meanwhile.
  const { latest: sampleProgress } = useJobProgress((p) => p.kind === 'sample');
  const progress = computed(() => (generating.value ? sampleProgress.value : null));
  // A run that finishes (or writes its last checkpoint) becomes sampleable: reload the lists.
  useJobProgress(
    (p) => p.kind === 'train' && p.state !== 'running',
    () => void refresh(),
  );

  /** Runs that can be sampled: those with at least one checkpoint (newest first, as listed). */
  const sampleableRuns = computed(() => {
    const withCkpt = new Set(checkpoints.value.map((c) => c.runId));
    return runs.value.filter((r) => withCkpt.has(r.id));
  });
  const runCheckpoints = computed(() =>
    checkpoints.value.filter((c) => c.runId === form.runId).sort((a, b) => b.step - a.step),
  );

  async function refresh(): Promise<void> {
    try {
      const [r, c] = await Promise.all([api['runs:list']({}), api['checkpoints:list']({})]);
      runs.value = r.runs;
      checkpoints.value = c.checkpoints;
      loadError.value = null;
      const ok = sampleableRuns.value;
      if (!ok.some((run) => run.id === form.runId)) {
        form.runId = ok[0]?.id ?? '';
        form.checkpointId = '';
      }
    } catch (e) {
      loadError.value = errorMessage(e);
    }
  }

  function chooseRun(id: string): void {
    form.runId = id;
    form.checkpointId = '';
  }

  function newSeed(): void {
    form.seed = randomSeed();
  }

  async function generate(): Promise<void> {
    error.value = null;
    if (!form.runId) {
      error.value = 'Choose a run with a checkpoint (train one on the Train page).';
      return;
    }
    if (!Number.isInteger(form.steps) || form.steps < 1 || form.steps > 1000) {
      error.value = 'steps: give a whole number from 1 to 1000.';
      return;
    }
    if (!Number.isInteger(form.count) || form.count < 1 || form.count > 256) {
      error.value = 'count: give a whole number from 1 to 256.';
      return;
    }
    if (!Number.isInteger(form.seed) || form.seed < 0 || form.seed > 0xffffffff) {
      error.value = 'seed: give a whole number from 0 to 4294967295 (or press Random).';
      return;
    }
    generating.value = true;
    sampleProgress.value = null;
    try {
      const source = form.checkpointId ? { checkpointId: form.checkpointId } : { runId: form.runId };
      const res = await api['sample:generate']({ ...source, count: form.count, seed: form.seed, steps: form.steps, sampler: 'ddim' });
      results.value = res.samples;
      cancelled.value = res.cancelled;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      generating.value = false;
    }
  }

  return {
    runs,
    loadError,
    form,
    generating,
    error,
    results,
    cancelled,
    progress,
    sampleableRuns,
    runCheckpoints,
    refresh,
    chooseRun,
    newSeed,
    generate,
  };
});
