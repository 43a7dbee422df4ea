/**
 * The preload: exposes one object, `window.sfumato` (api/channels.ts `PreloadBridge`): a single
 * typed `invoke(channel, req)` for every contract channel, which refuses a name that is not in
 * the table, the job progress subscription, and the path of a dropped file. No raw ipcRenderer
 * reaches the page. Every reply is {ok, result} or {ok: false, error: {code, message, details}}
 * (Electron forwards only `message` of thrown errors, so handlers never throw across IPC).
 *
 * The contract table (and zod, its schemas) is bundled into this file: a sandboxed preload can
 * require no package (electron.vite.config.ts).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { EVENTS, isChannel, type Envelope, type PreloadBridge } from './api/channels';
import { ApiError } from './api/errors';
import type { JobProgress } from './api/types';

const bridge: PreloadBridge = {
  invoke: (channel, req) => {
    if (!isChannel(channel)) {
      const refused: Envelope<never> = { ok: false, error: new ApiError('bad_request', `${String(channel)} is not a channel of the Sfumato contract (src-main/api/channels.ts).`).toJSON() };
      return Promise.resolve(refused);
    }
    return ipcRenderer.invoke(channel, req ?? {});
  },
  onJobProgress: (cb) => {
    const listener = (_e: unknown, p: JobProgress) => cb(p);
    ipcRenderer.on(EVENTS.jobProgress, listener);
    return () => {
      ipcRenderer.removeListener(EVENTS.jobProgress, listener);
    };
  },
  pathForFile: (file) => webUtils.getPathForFile(file),
};

contextBridge.exposeInMainWorld('sfumato', bridge);
