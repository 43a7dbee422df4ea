import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { errorMessage } from '../lib/errors';
import type { SampleRecord } from '../../../src-main/api/types';

const PAGE_SIZE = 200;

export const useGalleryStore = defineStore('gallery', () => {
  const samples = ref<SampleRecord[]>([]);
  const total = ref(0);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const openId = ref<string | null>(null);
  const deleting = ref(false);
  const deleteError = ref<string | null>(null);

  // New images from a finished sampling job appear without a manual refresh.
  useJobProgress(
    (p) => p.kind === 'sample' && p.state !== 'running',
    () => void refresh(),
  );

  const open = computed(() => samples.value.find((s) => s.id === openId.value) ?? null);

  async function refresh(): Promise<void> {
    loading.value = true;
    try {
      const page = await api['gallery:query']({ limit: PAGE_SIZE });
      samples.value = page.samples;
      total.value = page.total;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  function show(id: string): void {
    openId.value = id;
    deleteError.value = null;
  }

  function close(): void {
    openId.value = null;
  }

  async function remove(id: string): Promise<boolean> {
    deleting.value = true;
    deleteError.value = null;
    try {
      await api['gallery:delete']({ ids: [id] });
      if (openId.value === id) openId.value = null;
      await refresh();
      return true;
    } catch (e) {
      deleteError.value = errorMessage(e);
      return false;
    } finally {
      deleting.value = false;
    }
  }

  return { samples, total, loading, error, open, deleting, deleteError, refresh, show, close, remove };
});
