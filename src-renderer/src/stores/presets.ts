import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api } from '../api';
import { errorMessage } from '../lib/errors';
import { explainSpec, forgetLegacySchedules, legacySchedules, type NamedSchedule } from '../lib/schedules';
import { validateScheduleSpec, type DiscreteScheduleConfig } from '../../../src-main/diffusion/index';
import type { ImportPresetsResult, Preset, PresetBodies, PresetFile, PresetKind } from '../../../src-main/api/presets';

/**
 * The library's saved things (schedules, sampling and training presets) through the `presets:*`
 * channels: the same list in every window, browser, port and the CLI. `load()` also moves, once,
 * the schedules an older Sfumato kept in this browser's localStorage into the library.
 */
export const usePresetsStore = defineStore('presets', () => {
  const presets = ref<Preset[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  let loading: Promise<void> | null = null;

  const ofKind = <K extends PresetKind>(kind: K) => presets.value.filter((p): p is Extract<Preset, { kind: K }> => p.kind === kind);
  /** Saved schedules for the Train form (any kind; the CLI can save VP/VE/EDM ones too). */
  const schedules = computed<NamedSchedule[]>(() => ofKind('schedule').map((p) => ({ id: p.id, name: p.name, spec: p.body })));
  /** The discrete ones, which the Schedules tuner plots and saves. */
  const discreteSchedules = computed(() => schedules.value.filter((s): s is NamedSchedule & { spec: DiscreteScheduleConfig } => s.spec.kind === 'discrete'));

  async function refresh(): Promise<void> {
    presets.value = (await api['presets:list']({})).presets;
    loaded.value = true;
  }

  /**
   * Schedules in this browser's localStorage (saved by an older Sfumato) go into the library once,
   * then leave localStorage. One that the library already holds under the same name and curve is
   * not added twice; a different curve under a taken name is kept as "name (2)". Entries that were
   * never valid (the tuner never showed them) are dropped.
   */
  async function migrateLegacy(): Promise<number> {
    const legacy = legacySchedules().filter((s) => explainSpec(s.spec) === null);
    if (legacy.length === 0) {
      forgetLegacySchedules();
      return 0;
    }
    const same = (a: unknown, b: unknown) => JSON.stringify(validateScheduleSpec(a)) === JSON.stringify(validateScheduleSpec(b));
    const have = ofKind('schedule');
    const fresh = legacy.filter((s) => !have.some((p) => p.name === s.name.trim() && same(p.body, s.spec)));
    if (fresh.length) {
      const file: PresetFile = { format: 'sfumato-presets', version: 1, exportedAt: new Date().toISOString(), presets: fresh.map((s) => ({ kind: 'schedule', name: s.name, body: s.spec })) };
      await api['presets:import']({ file, onConflict: 'rename' });
    }
    forgetLegacySchedules();
    return fresh.length;
  }

  /** The list, loaded once (and the localStorage move done) however many pages ask at once. */
  function load(): Promise<void> {
    loading ??= (async () => {
      try {
        await refresh();
        if ((await migrateLegacy()) > 0) await refresh();
        error.value = null;
      } catch (e) {
        error.value = errorMessage(e);
        loading = null;
      }
    })();
    return loading;
  }

  async function save<K extends PresetKind>(kind: K, name: string, body: PresetBodies[K]): Promise<{ preset: Preset; replaced: boolean }> {
    const r = await api['presets:save']({ kind, name, body });
    await refresh();
    return r;
  }

  async function remove(id: string): Promise<void> {
    await api['presets:delete']({ id });
    await refresh();
  }

  async function rename(id: string, name: string): Promise<void> {
    await api['presets:rename']({ id, name });
    await refresh();
  }

  /** Export as a JSON file the browser downloads (web mode) or saves through a dialog (desktop). */
  async function exportFile(sel: { ids?: string[]; kind?: PresetKind }, fileName: string): Promise<number> {
    const { file } = await api['presets:export'](sel);
    const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2) + '\n'], { type: 'application/json' }));
    try {
      const a = document.createElement('a');
      a.href = url;
      a.download = fileName;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } finally {
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }
    return file.presets.length;
  }

  /** Import a file the user picked; a file that is not JSON gets a message naming it. */
  async function importFile(f: File): Promise<ImportPresetsResult> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await f.text());
    } catch (e) {
      throw new Error(`${f.name} is not a JSON file (${(e as Error).message}). Pick a file saved with Export presets.`);
    }
    const r = await api['presets:import']({ file: parsed });
    await refresh();
    return r;
  }

  return { presets, loaded, error, schedules, discreteSchedules, ofKind, load, refresh, save, remove, rename, exportFile, importFile };
});
