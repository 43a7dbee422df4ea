/**
 * The preload: exposes one object, `window.sfumato`, with a named function per contract channel
 * and one subscription for job progress. No raw ipcRenderer reaches the page.
 * Every reply is {ok, result} or {ok: false, error: {code, message, details}} (Electron forwards
 * only `message` of thrown errors, so handlers never throw across IPC).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { CHANNELS, EVENTS } from './api/channels';
import type { JobProgress } from './api/types';

type Invoker = (req?: unknown) => Promise<unknown>;

const api: Record<string, Invoker | ((cb: (p: JobProgress) => void) => () => void)> = {};
for (const [name, channel] of Object.entries(CHANNELS)) {
  api[name] = (req?: unknown) => ipcRenderer.invoke(channel, req ?? {});
}
api.onJobProgress = (cb: (p: JobProgress) => void) => {
  const listener = (_e: unknown, p: JobProgress) => cb(p);
  ipcRenderer.on(EVENTS.jobProgress, listener);
  return () => {
    ipcRenderer.removeListener(EVENTS.jobProgress, listener);
  };
};

/** Drag-and-drop import: the file-system path of a dropped folder (sandboxed pages cannot see it). */
api.pathForFile = ((file: File) => webUtils.getPathForFile(file)) as never;

contextBridge.exposeInMainWorld('sfumato', api);
