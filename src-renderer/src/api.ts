/**
 * The renderer's ONE api client. It picks the transport: the Electron preload's `window.sfumato`
 * (IPC) when present, else web mode (HTTP + WebSocket to the server that served this page, with
 * the token from the page URL). Both return the same typed results and throw ApiError.
 */
import { ALL_CHANNELS, EVENTS, channelPath, type Channel, type Envelope, type PreloadBridge, type ReqIn, type Res, type SfumatoApi } from '../../src-main/api/channels';
import { ApiError } from '../../src-main/api/errors';
import type { JobProgress } from '../../src-main/api/types';

declare global {
  interface Window {
    /** the Electron preload's bridge (src-main/preload.ts); absent in web mode */
    sfumato?: PreloadBridge;
  }
}

export type Transport = 'ipc' | 'web';

const bridge = typeof window !== 'undefined' ? window.sfumato : undefined;
export const transport: Transport = bridge ? 'ipc' : 'web';

/**
 * Token for web mode: from `?token=` (loopback servers) or `#token=` (servers on another host,
 * where the token must stay out of request URLs) on first load, then kept for this tab.
 */
function webToken(): string {
  const url = new URL(location.href);
  let fromUrl = url.searchParams.get('token');
  url.searchParams.delete('token');
  // `#token=…` comes first in the fragment; whatever follows (`&…`) is kept. The router's own
  // fragment (`#/datasets`) is left exactly as it is.
  let hash = location.hash;
  const m = /^#token=([^&]*)&?/.exec(hash);
  if (m) {
    fromUrl ??= decodeURIComponent(m[1]);
    hash = '#' + hash.slice(m[0].length);
  }
  if (fromUrl) {
    sessionStorage.setItem('sfumato-token', fromUrl);
    // Keep the token out of the address bar, history and screenshots once it is stored.
    history.replaceState(history.state, '', url.pathname + url.search + (hash.length > 1 ? hash : ''));
    return fromUrl;
  }
  return sessionStorage.getItem('sfumato-token') ?? '';
}
const token = transport === 'web' ? webToken() : '';

/** One call of the contract over the transport in use; resolves with the result or throws ApiError. */
export async function invoke<K extends Channel>(channel: K, req: ReqIn<K>): Promise<Res<K>> {
  let reply: Envelope<Res<K>>;
  if (bridge) {
    reply = await bridge.invoke(channel, req);
  } else {
    let res: Response;
    try {
      res = await fetch(channelPath(channel), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(req ?? {}),
      });
    } catch (e) {
      throw new ApiError('unavailable', `Sfumato is not reachable (${(e as Error).message}). Is \`sfumato serve\` still running?`);
    }
    reply = await res.json().catch(() => ({ ok: false as const, error: { code: 'internal' as const, message: `HTTP ${res.status}` } }));
  }
  if (!reply.ok) throw ApiError.from(reply.error);
  return reply.result;
}

function buildClient(): SfumatoApi {
  const client: Partial<Record<Channel, (req: never) => Promise<unknown>>> = {};
  for (const ch of ALL_CHANNELS) client[ch] = (req: ReqIn<typeof ch>) => invoke(ch, req);
  // Complete: one function per channel of the table.
  return client as SfumatoApi;
}

/** `api['runs:list']({})`: one typed function per channel of the contract table. */
export const api: SfumatoApi = buildClient();

/** Desktop drag-and-drop: the file-system path of a dropped file or folder (undefined in web mode). */
export function pathForFile(file: File): string | undefined {
  return bridge?.pathForFile(file);
}

/**
 * Web mode: asks the server (with the token in the Authorization header) for the HttpOnly cookie
 * that lets `<img src>` load library files, so no URL carries the token. Call before mounting.
 */
export async function openWebSession(): Promise<void> {
  if (transport !== 'web' || !token) return;
  await fetch('/api/session', { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
}

/**
 * URL of a library file (sample PNG, thumbnail) for <img src>. Desktop: on the app's own origin
 * (sfumato://app), so canvases may read the pixels back; web mode authenticates by cookie.
 */
export function fileUrl(rel: string): string {
  const path = rel.split('/').map(encodeURIComponent).join('/');
  return transport === 'ipc' ? `sfumato://app/library/${path}` : `/api/files/${path}`;
}

/**
 * Web mode: fetches an export made with `download: true` (GET /api/exports/<id>/<name>, token in
 * the Authorization header, so no URL carries it) and hands it to the browser as a download.
 */
export async function downloadExport(d: { id: string; name: string }): Promise<void> {
  const res = await fetch(`/api/exports/${encodeURIComponent(d.id)}/${encodeURIComponent(d.name)}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as Envelope | undefined;
    if (body && !body.ok) throw ApiError.from(body.error);
    throw new ApiError('internal', `Downloading ${d.name} failed (HTTP ${res.status}); export again.`);
  }
  const url = URL.createObjectURL(await res.blob());
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = d.name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    // give the browser a moment to start the download before the blob goes
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

type ProgressListener = (p: JobProgress) => void;
const listeners = new Set<ProgressListener>();
let socket: WebSocket | undefined;
let ipcUnsubscribe: (() => void) | undefined;
let retry = 0;

function connect(): void {
  if (bridge) {
    ipcUnsubscribe = bridge.onJobProgress((p) => listeners.forEach((l) => l(p)));
    return;
  }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol, and the server
  // answers with plain `sfumato` (see src-main/server/http.ts).
  socket = new WebSocket(`${proto}//${location.host}/api/events`, ['sfumato', `sfumato.token.${token}`]);
  socket.onopen = () => (retry = 0);
  socket.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { event: string; payload: JobProgress };
    if (msg.event === EVENTS.jobProgress) listeners.forEach((l) => l(msg.payload));
  };
  socket.onclose = () => {
    socket = undefined;
    if (listeners.size > 0) setTimeout(connect, Math.min(5000, 250 * 2 ** retry++));
  };
}

/** Subscribe to job progress events; returns the unsubscribe function. */
export function onJobProgress(cb: ProgressListener): () => void {
  listeners.add(cb);
  if (!socket && !ipcUnsubscribe) connect();
  return () => {
    listeners.delete(cb);
    if (listeners.size === 0) {
      ipcUnsubscribe?.();
      ipcUnsubscribe = undefined;
      socket?.close();
      socket = undefined;
    }
  };
}

export { ApiError };
