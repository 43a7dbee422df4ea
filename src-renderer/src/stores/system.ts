import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '../api';
import { errorMessage } from '../lib/errors';
import type { SystemInfo } from '../../../src-main/api/types';

export const useSystemStore = defineStore('system', () => {
  const info = ref<SystemInfo | null>(null);
  const error = ref<string | null>(null);

  async function load(): Promise<void> {
    try {
      info.value = await api['system:info']({});
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  return { info, error, load };
});
