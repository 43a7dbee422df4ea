/**
 * The CLI as a client of a running server (global `--server URL --token T`): the same commands and
 * the same `--json` shapes, each channel called over the server's HTTP API (the route every
 * channel has, `POST /api/<domain>/<action>`) and job progress read from its WebSocket.
 *
 * The object handed to commands stands in for the local Sfumato: `api` and `events` are the
 * server's; a blocking `train` waits for the run by polling `runs:get`. A command that needs the
 * library's files on this machine (import from a local folder, reproduce a local PNG, animate to a
 * local file) is refused with a clear message instead of acting on a library that is not here.
 */
import { EventEmitter } from 'node:events';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { channelPath, type Channel } from '../api/channels';
import { ApiError } from '../api/errors';
import type { ApiErrorCode, Run, RunDetail } from '../api/types';
import type { Sfumato } from '../services/sfumato';
import { WS_PROTOCOL, WS_TOKEN_PREFIX } from '../server/http';
import { UsageError } from './parse';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'interrupted', 'paused']);

/** POST a JSON body; no client-side timeout (a sampling call lasts as long as its job). */
function postJson(url: URL, token: string, body: unknown): Promise<{ status: number; text: string }> {
  const data = JSON.stringify(body ?? {});
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

export async function connectRemote(server: string, token: string | undefined): Promise<Sfumato> {
  if (!token) throw new UsageError('--server needs --token (the token `sfumato serve` printed) or $SFUMATO_TOKEN.');
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(server)} is not a URL: write it as http://HOST:PORT.`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`--server ${JSON.stringify(server)}: use http://HOST:PORT (or https://).`);
  const call = async (ch: Channel, req: unknown): Promise<unknown> => {
    let r: { status: number; text: string };
    try {
      r = await postJson(new URL(channelPath(ch), base), token, req);
    } catch (e) {
      throw new ApiError('unavailable', `The server ${base.origin} cannot be reached (${(e as Error).message}); check --server and that \`sfumato serve\` runs there.`);
    }
    let parsed: { ok?: boolean; result?: unknown; error?: { code: ApiErrorCode; message: string; details?: unknown } };
    try {
      parsed = JSON.parse(r.text);
    } catch {
      throw new ApiError('unavailable', `The server ${base.origin} answered ${r.status} with something that is not Sfumato's API.`);
    }
    if (!parsed.ok) {
      const e = parsed.error ?? { code: 'internal' as const, message: `HTTP ${r.status}` };
      if (e.code === 'unauthorized') throw new ApiError('unauthorized', `The server ${base.origin} refused the token: pass the token \`sfumato serve\` printed (--token or $SFUMATO_TOKEN).`);
      throw new ApiError(e.code, e.message, e.details);
    }
    return parsed.result;
  };
  await call('system:info', {});

  const events = new EventEmitter();
  const ws = new WebSocket(`${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}/api/events`, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token}`]);
  ws.on('message', (data) => {
    try {
      const m = JSON.parse(String(data)) as { event?: string; payload?: unknown };
      if (m.event === 'jobs:progress') events.emit('jobs:progress', m.payload);
    } catch {
      /* not ours */
    }
  });
  ws.on('error', () => undefined);
  // progress is a comfort: a WebSocket that does not open in 5 s leaves the command without it
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 5000);
    ws.once('open', () => (clearTimeout(t), resolve()));
    ws.once('error', () => (clearTimeout(t), resolve()));
  });

  const getRun = async (id: string) => ((await call('runs:get', { id })) as { run: RunDetail }).run;
  const finished = async (id: string): Promise<Run> => {
    for (;;) {
      const run = await getRun(id);
      if (TERMINAL.has(run.status)) return run;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const remote: Record<string, unknown> = {
    api: new Proxy({}, { get: (_t, ch) => (req: unknown) => call(ch as Channel, req) }),
    events,
    remote: base.origin,
    runs: { finished },
    store: { runs: { get: getRun }, checkpoints: { count: async (id: string) => (await getRun(id)).checkpoints.length } },
    jobs: { list: () => [], get: () => undefined },
    close: async () => {
      ws.terminate();
    },
  };
  return new Proxy(remote, {
    get(t, p) {
      if (p in t) return t[p as string];
      if (typeof p === 'symbol' || p === 'then') return undefined;
      throw new UsageError(`this command works on the library of this machine (it needs ${p}); run it without --server, on the server's machine.`);
    },
  }) as unknown as Sfumato;
}
