/**
 * Web mode's HTTP + WebSocket transport: the token guards every /api/ route and the upgrade,
 * the contract answers over POST, library files are served without escaping the library.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Sfumato } from '../../src-main/services/sfumato';
import { startWebServer, type WebServer } from '../../src-main/server/http';
import { EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let srv: WebServer;
let base: string;

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'web' });
  srv = await startWebServer(s, { port: 0 });
  base = `http://127.0.0.1:${srv.port}`;
});
afterAll(async () => {
  await srv?.close();
  await s?.close();
  lib?.cleanup();
});

const post = (path: string, body: unknown, token?: string) =>
  fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

function wsOpen(url: string): Promise<{ ws: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.once('error', () => resolve({ ws, status: -1 }));
  });
}

describe('web mode server', () => {
  it('prints a loopback URL with a random token', () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
  });

  it('answers 401 on /api/ without the token or with a wrong one', async () => {
    expect((await post('/api/system/info', {})).status).toBe(401);
    expect((await post('/api/system/info', {}, 'f'.repeat(32))).status).toBe(401);
    expect((await fetch(`${base}/api/files/sfumato.db`)).status).toBe(401);
    const body = (await (await post('/api/datasets/list', {})).json()) as { ok: boolean; error: { code: string } };
    expect(body).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });

  it('refuses the WebSocket upgrade without the token and accepts it with', async () => {
    const bad = await wsOpen(`ws://127.0.0.1:${srv.port}/api/events`);
    expect(bad.status).toBe(401);
    const good = await wsOpen(`ws://127.0.0.1:${srv.port}/api/events?token=${srv.token}`);
    expect(good.status).toBeUndefined();
    const got = new Promise<{ event: string; payload: { kind: string } }>((r) => good.ws.once('message', (m) => r(JSON.parse(String(m)))));
    const imp = await post('/api/datasets/import', { dir: EMOJI_DIR, imageSize: 16 }, srv.token);
    expect(imp.status).toBe(200);
    const msg = await got;
    expect(msg.event).toBe('jobs:progress');
    expect(msg.payload.kind).toBe('import');
    good.ws.close();
  });

  it('serves the contract with the token, and errors as {code, message}', async () => {
    const info = (await (await post('/api/system/info', {}, srv.token)).json()) as { ok: boolean; result: { mode: string; backend: { active: string } } };
    expect(info.ok).toBe(true);
    expect(info.result.mode).toBe('web');
    expect(info.result.backend.active).toBeTruthy();
    const missing = await post('/api/runs/get', { id: 'run_nope' }, srv.token);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const bad = await post('/api/sample/generate', { count: 'four' }, srv.token);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/count/);
    expect((await post('/api/nope/nope', {}, srv.token)).status).toBe(404);
  });

  it('serves library images but never files outside the library or the database', async () => {
    const list = (await (await post('/api/datasets/list', {}, srv.token)).json()) as { result: { datasets: { id: string }[] } };
    const ds = (await (await post('/api/datasets/get', { id: list.result.datasets[0].id }, srv.token)).json()) as { result: { dataset: { items: { thumb: string }[] } } };
    const thumb = ds.result.dataset.items[0].thumb;
    const ok = await fetch(`${base}/api/files/${thumb}?token=${srv.token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect((await fetch(`${base}/api/files/sfumato.db?token=${srv.token}`)).status).toBe(404);
    expect((await fetch(`${base}/api/files/..%2F..%2Fetc%2Fpasswd?token=${srv.token}`)).status).toBe(400);
  });

  it('refuses requests whose Host is not the loopback server (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: srv.port, path: '/', headers: { host: 'evil.example:80' } }, (res) => resolve(res.statusCode ?? 0));
      req.end();
    });
    expect(status).toBe(421);
  });
});
