/** The task dialogs' shared state (src-renderer/src/composables/useDialogTask.ts). */
import { describe, expect, it } from 'vitest';
import { saveDownload, useDialogTask } from '../../../../src-renderer/src/composables/useDialogTask';

describe('useDialogTask', () => {
  it('is busy while the action runs, shows its error, and clears the error on the next run', async () => {
    const d = useDialogTask();
    let release!: () => void;
    const running = d.task(() => new Promise<void>((r) => (release = r)));
    expect(d.busy.value).toBe(true);
    release();
    await running;
    expect(d.busy.value).toBe(false);
    await d.task(async () => {
      throw new Error('The folder /x does not exist; pick another.');
    });
    expect(d.error.value).toBe('The folder /x does not exist; pick another.');
    expect(d.busy.value).toBe(false);
    await d.task(async () => undefined);
    expect(d.error.value).toBeNull();
  });

  it('runs one action at a time: a second call while busy does nothing', async () => {
    const d = useDialogTask();
    let calls = 0;
    let release!: () => void;
    const first = d.task(() => {
      calls++;
      return new Promise<void>((r) => (release = r));
    });
    await d.task(async () => {
      calls++;
    });
    release();
    await first;
    expect(calls).toBe(1);
  });

  it('opening clears the last error and runs the reset', () => {
    const d = useDialogTask();
    d.error.value = 'old';
    let reset = 0;
    d.show(() => reset++);
    expect(d.error.value).toBeNull();
    expect(reset).toBe(1);
  });

  it('a result without a download says to update Sfumato', async () => {
    await expect(saveDownload({})).rejects.toThrow(/made no download.*update Sfumato/);
  });
});
