import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import type { Dataset, DatasetDetail, DatasetPreviewResult, ImportError } from '../../../src-main/api/types';

export const IMAGE_SIZES = [16, 32, 64] as const;

export const useDatasetsStore = defineStore('datasets', () => {
  const datasets = ref<Dataset[]>([]);
  const listError = ref<string | null>(null);
  const selectedId = ref<string | null>(null);
  const selected = ref<DatasetDetail | null>(null);
  const detailError = ref<string | null>(null);

  // The import form and its state.
  const dir = ref('');
  const imageSize = ref<number>(32);
  const crop = ref<'center' | 'fit'>('center');
  const background = ref('#ffffff');
  const preview = ref<DatasetPreviewResult['items']>([]);
  const previewing = ref(false);
  const previewError = ref<string | null>(null);
  const importing = ref(false);
  const importError = ref<string | null>(null);
  const lastImport = ref<{ datasetId: string; imported: number; errors: ImportError[] } | null>(null);

  // `datasets:import` resolves when done; its progress events stream meanwhile.
  const { latest: importProgress } = useJobProgress((p) => p.kind === 'import');
  const progress = computed(() => (importing.value ? importProgress.value : null));

  async function refresh(): Promise<void> {
    try {
      datasets.value = (await api['datasets:list']({})).datasets;
      listError.value = null;
    } catch (e) {
      listError.value = errorMessage(e);
    }
  }

  async function select(id: string): Promise<void> {
    selectedId.value = id;
    try {
      const { dataset } = await api['datasets:get']({ id });
      if (selectedId.value === id) selected.value = dataset;
      detailError.value = null;
    } catch (e) {
      detailError.value = errorMessage(e);
    }
  }

  async function importFolder(): Promise<void> {
    const folder = dir.value.trim();
    if (!folder) {
      importError.value = 'Type the path of a folder of images first.';
      return;
    }
    importing.value = true;
    importError.value = null;
    importProgress.value = null;
    try {
      const res = await api['datasets:import']({ dir: folder, imageSize: imageSize.value, crop: crop.value, background: background.value });
      lastImport.value = { datasetId: res.dataset.id, imported: res.imported, errors: res.errors };
      await refresh();
      await select(res.dataset.id);
    } catch (e) {
      importError.value = errorMessage(e);
    } finally {
      importing.value = false;
    }
  }

  /** Before/after of the current settings on the folder's first images (nothing is imported). */
  async function previewFolder(): Promise<void> {
    const folder = dir.value.trim();
    if (!folder) {
      previewError.value = 'Type the path of a folder of images first.';
      return;
    }
    previewing.value = true;
    previewError.value = null;
    try {
      preview.value = (await api['datasets:preview']({ dir: folder, imageSize: imageSize.value, crop: crop.value, background: background.value, count: 4 })).items;
      if (!preview.value.length) previewError.value = 'No readable images found in that folder.';
    } catch (e) {
      previewError.value = errorMessage(e);
    } finally {
      previewing.value = false;
    }
  }

  async function remove(id: string): Promise<void> {
    try {
      await api['datasets:remove']({ id });
      if (selectedId.value === id) {
        selectedId.value = null;
        selected.value = null;
      }
      await refresh();
    } catch (e) {
      listError.value = errorMessage(e);
    }
  }

  return {
    datasets,
    listError,
    selectedId,
    selected,
    detailError,
    dir,
    imageSize,
    crop,
    background,
    preview,
    previewing,
    previewError,
    previewFolder,
    importing,
    importError,
    lastImport,
    progress,
    refresh,
    select,
    importFolder,
    remove,
  };
});
