/**
 * The IPC handler table: one handler per contract channel, built from the service's api, that
 * checks the calling frame's origin and answers the {ok, result} / {ok: false, error} envelope
 * (handlers never throw across IPC: Electron would forward only the message).
 * No `electron` import, so Vitest can call every channel; main.ts registers the table with
 * ipcMain.handle, passing `event.senderFrame?.url`.
 */
import { ALL_CHANNELS, type Channel } from '../api/channels';
import type { SfumatoApi } from '../api/contract';
import { ApiError } from '../api/errors';
import type { ApiErrorShape } from '../api/types';

export type Envelope = { ok: true; result: unknown } | { ok: false; error: ApiErrorShape };

/** (URL of the frame that sent the message, or undefined when it is gone; the request) */
export type IpcHandler = (senderUrl: string | undefined, req: unknown) => Promise<Envelope>;

export function buildIpcHandlers(api: SfumatoApi, isTrustedSender: (senderUrl: string | undefined) => boolean): ReadonlyMap<Channel, IpcHandler> {
  const table = new Map<Channel, IpcHandler>();
  for (const channel of ALL_CHANNELS) {
    const fn = api[channel] as ((r: unknown) => Promise<unknown>) | undefined;
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
        if (typeof fn !== 'function') throw new ApiError('internal', `No service function for ${channel}.`);
        return { ok: true, result: await fn.call(api, req ?? {}) };
      } catch (e) {
        return { ok: false, error: ApiError.from(e).toJSON() };
      }
    });
  }
  return table;
}
