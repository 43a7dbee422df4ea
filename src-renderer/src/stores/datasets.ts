import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import type { Dataset, DatasetDetail, DatasetPreviewResult, FolderListing, ImportError } from '../../../src-main/api/types';

/** Prepared images fetched per datasets:images call. */
export const IMAGE_PAGE = 128;

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
  /** class labels: 'subfolders' = each subfolder's name is its images' class */
  const labels = ref<'none' | 'subfolders'>('none');
  const preview = ref<DatasetPreviewResult['items']>([]);
  const previewing = ref(false);
  const previewError = ref<string | null>(null);
  const importing = ref(false);
  const importError = ref<string | null>(null);
  const lastImport = ref<{ datasetId: string; imported: number; errors: ImportError[]; captionFiles: number } | null>(null);

  // The selected dataset's prepared images at training size (PNG data URLs by cache index), page by page.
  const trainingImages = ref<Map<number, string>>(new Map());
  const requestedPages = new Set<number>();
  const editError = ref<string | null>(null);

  // Web mode's folder picker.
  const folder = ref<FolderListing | null>(null);
  const folderError = ref<string | null>(null);
  const browsing = ref(false);

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
    if (selectedId.value !== id) {
      trainingImages.value = new Map();
      requestedPages.clear();
    }
    selectedId.value = id;
    editError.value = null;
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
      const res = await api['datasets:import']({ dir: folder, imageSize: imageSize.value, crop: crop.value, background: background.value, labels: labels.value });
      lastImport.value = { datasetId: res.dataset.id, imported: res.imported, errors: res.errors, captionFiles: res.captionFiles };
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

  /** Loads the page of prepared images holding cache index `index` (once per page). */
  async function loadImagesAround(index: number): Promise<void> {
    const id = selectedId.value;
    const page = Math.floor(index / IMAGE_PAGE);
    if (!id || requestedPages.has(page)) return;
    requestedPages.add(page);
    try {
      const r = await api['datasets:images']({ id, offset: page * IMAGE_PAGE, limit: IMAGE_PAGE });
      if (selectedId.value !== id) return;
      const next = new Map(trainingImages.value);
      for (const im of r.images) next.set(im.index, im.src);
      trainingImages.value = next;
    } catch (e) {
      requestedPages.delete(page);
      editError.value = errorMessage(e);
    }
  }

  /** Puts a changed dataset row into the list and the detail. */
  function applyDataset(d: Dataset): void {
    datasets.value = datasets.value.map((x) => (x.id === d.id ? d : x));
    if (selected.value?.id === d.id) selected.value = { ...selected.value, ...d };
  }

  async function rename(name: string): Promise<boolean> {
    const id = selectedId.value;
    if (!id) return false;
    try {
      applyDataset((await api['datasets:rename']({ id, name })).dataset);
      editError.value = null;
      return true;
    } catch (e) {
      editError.value = errorMessage(e);
      return false;
    }
  }

  /** Renames a class of the selected dataset; naming another existing class merges the two. */
  async function renameClass(from: string, to: string): Promise<boolean> {
    const id = selectedId.value;
    if (!id) return false;
    try {
      applyDataset((await api['datasets:renameClass']({ id, from, to })).dataset);
      // the items' class fields changed too
      await select(id);
      editError.value = null;
      return true;
    } catch (e) {
      editError.value = errorMessage(e);
      return false;
    }
  }

  /** Excludes an image from training, or includes it again. */
  async function toggleExcluded(itemId: string): Promise<void> {
    const d = selected.value;
    const item = d?.items.find((i) => i.id === itemId);
    if (!d || !item) return;
    try {
      const { dataset } = await api['datasets:exclude']({ id: d.id, itemIds: [itemId], excluded: !item.excluded });
      if (selected.value?.id === d.id) selected.value = { ...selected.value, items: selected.value.items.map((i) => (i.id === itemId ? { ...i, excluded: !item.excluded } : i)) };
      applyDataset(dataset);
      editError.value = null;
    } catch (e) {
      editError.value = errorMessage(e);
    }
  }

  /** Web mode: shows a folder in the picker (default: the home folder). */
  async function browse(path?: string): Promise<void> {
    browsing.value = true;
    try {
      folder.value = await api['folders:list'](path ? { path } : {});
      folderError.value = null;
    } catch (e) {
      folderError.value = errorMessage(e);
    }
  }
  function chooseFolder(): void {
    if (folder.value) dir.value = folder.value.path;
    browsing.value = false;
  }
  function closeBrowser(): void {
    browsing.value = false;
  }

  return {
    labels,
    renameClass,
    trainingImages,
    loadImagesAround,
    editError,
    rename,
    toggleExcluded,
    folder,
    folderError,
    browsing,
    browse,
    chooseFolder,
    closeBrowser,
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
