import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '../api';
import { errorMessage } from '../lib/errors';
import type { ProvidersInfo, SystemInfo } from '../../../src-main/api/types';

export const useSystemStore = defineStore('system', () => {
  const info = ref<SystemInfo | null>(null);
  const error = ref<string | null>(null);
  /** the ONNX Runtime execution providers (system:providers: probed once per session, seconds) */
  const providers = ref<ProvidersInfo | null>(null);
  const providersError = ref<string | null>(null);
  const providersLoading = ref(false);

  async function load(): Promise<void> {
    try {
      info.value = await api['system:info']({});
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  async function loadProviders(): Promise<void> {
    if (providersLoading.value) return;
    providersLoading.value = true;
    try {
      providers.value = await api['system:providers']({});
      providersError.value = null;
    } catch (e) {
      providersError.value = errorMessage(e);
    } finally {
      providersLoading.value = false;
    }
  }

  return { info, error, load, providers, providersError, providersLoading, loadProviders };
});
