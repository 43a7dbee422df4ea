/**
 * The IPC handler table: one handler per contract channel (api/channels.ts), built in one loop
 * from the service's validated api, that checks the calling frame's origin and answers the
 * {ok, result} / {ok: false, error} envelope (handlers never throw across IPC: Electron would
 * forward only the message). Errors leave through the one mapping (api/errors.ts toApiError).
 * No `electron` import, so Vitest can call every channel; main.ts registers the table with
 * ipcMain.handle, passing `event.senderFrame?.url`.
 */
import { ALL_CHANNELS, type Channel, type Envelope, type ReqIn, type Res } from '../api/channels';
import { ApiError, toApiError } from '../api/errors';

export type { Envelope };

/** (URL of the frame that sent the message, or undefined when it is gone; the request) */
export type IpcHandler = (senderUrl: string | undefined, req: unknown) => Promise<Envelope>;

/** The channel functions IPC calls (`Sfumato.api`, which validates each request). */
export type IpcApi = { [K in Channel]: (req: ReqIn<K>) => Promise<Res<K>> };

export function buildIpcHandlers(api: IpcApi, isTrustedSender: (senderUrl: string | undefined) => boolean): ReadonlyMap<Channel, IpcHandler> {
  const table = new Map<Channel, IpcHandler>();
  for (const channel of ALL_CHANNELS) {
    const fn = api[channel] as (r: unknown) => Promise<unknown>;
    table.set(channel, async (senderUrl, req) => {
      if (!isTrustedSender(senderUrl)) {
        return {
          ok: false,
          error: new ApiError(
            'unauthorized',
            `Refused ${channel} from ${senderUrl ?? 'a frame that no longer exists'}: only Sfumato's own pages may call the app.`,
          ).toJSON(),
        };
      }
      try {
        return { ok: true, result: await fn(req ?? {}) };
      } catch (e) {
        return { ok: false, error: toApiError(e).toJSON() };
      }
    });
  }
  return table;
}
