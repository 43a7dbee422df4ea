/**
 * What every task dialog (export, ONNX export, delete run) shares: the native <dialog> element,
 * a busy flag while its action runs, and the action's error shown in the dialog. `task` runs an
 * action with both kept right (one action at a time; the error message says what to do).
 */
import { ref } from 'vue';
import { downloadExport } from '../api';
import { errorMessage } from '../lib/errors';

export function useDialogTask() {
  const dlg = ref<HTMLDialogElement | null>(null);
  const busy = ref(false);
  const error = ref<string | null>(null);

  /** Opens the dialog, clearing the last error (and whatever `reset` clears). */
  function show(reset?: () => void): void {
    error.value = null;
    reset?.();
    dlg.value?.showModal();
  }

  async function task(action: () => Promise<void>): Promise<void> {
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await action();
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = false;
    }
  }

  return { dlg, busy, error, show, task };
}

/** Hands a one-time export download (web mode) to the browser; returns the file name saved. */
export async function saveDownload(r: { download?: { id: string; name: string } }): Promise<string> {
  if (!r.download) throw new Error('The server made no download for this export; update Sfumato and try again.');
  await downloadExport(r.download);
  return r.download.name;
}
