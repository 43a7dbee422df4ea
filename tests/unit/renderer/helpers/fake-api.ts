/**
 * A stand-in for the renderer's api module (src-renderer/src/api.ts) in store and component tests:
 * each test answers the channels it needs, sees the requests made, and pushes `jobs:progress`
 * events. Use it with
 *   vi.mock('<path to>/src-renderer/src/api', () => import('<path to>/helpers/fake-api'));
 * A channel the test did not answer fails with an ApiError naming it, as an unreachable server would.
 */
import { ApiError } from '../../../../src-main/api/errors';
import type { Channel } from '../../../../src-main/api/channels';
import type { Req, Res, SfumatoApi } from '../../../../src-main/api/channels';
import type { JobProgress } from '../../../../src-main/api/types';

type Handler<K extends Channel> = (req: Req<K>) => Res<K> | Promise<Res<K>>;

const handlers = new Map<Channel, Handler<Channel>>();
const listeners = new Set<(p: JobProgress) => void>();

export const fake = {
  /** every request, in order */
  calls: [] as { channel: Channel; req: unknown }[],
  /** answer `channel` with `handler` (replaces an earlier answer) */
  on<K extends Channel>(channel: K, handler: Handler<K>): void {
    handlers.set(channel, handler as unknown as Handler<Channel>);
  },
  /** the requests made on one channel */
  requests<K extends Channel>(channel: K): Req<K>[] {
    return this.calls.filter((c) => c.channel === channel).map((c) => c.req as Req<K>);
  },
  /** push a `jobs:progress` event to every subscriber */
  emit(p: JobProgress): void {
    for (const l of [...listeners]) l(p);
  },
  subscribers(): number {
    return listeners.size;
  },
  reset(): void {
    handlers.clear();
    listeners.clear();
    this.calls.length = 0;
  },
};

export const api = new Proxy({} as SfumatoApi, {
  get: (_t, channel: string) => async (req: unknown) => {
    fake.calls.push({ channel: channel as Channel, req });
    const h = handlers.get(channel as Channel);
    if (!h) throw new ApiError('unavailable', `fake api: no answer for ${channel}`);
    return h(req as never);
  },
});

export const transport = 'web' as const;

export function onJobProgress(cb: (p: JobProgress) => void): () => void {
  listeners.add(cb);
  return () => listeners.delete(cb);
}

export function fileUrl(rel: string): string {
  return `/api/files/${rel}`;
}

export async function openWebSession(): Promise<void> {}

export async function downloadExport(_d: { id: string; name: string }): Promise<void> {}

export { ApiError } from '../../../../src-main/api/errors';
