/**
 * Web mode under hostile and unlucky requests. The server runs as the real `sfumato serve` in a
 * child process, so a crash is visible (the process exits) and its file descriptors can be counted
 * in /proc/<pid>/fd. After every hostile request the server must still answer a normal
 * authenticated request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ALL_CHANNELS, channelPath } from '../../src-main/api/channels';
import { CLI, tempDir } from '../helpers/library';

interface Child {
  proc: ChildProcess;
  port: number;
  token: string;
  url: string;
  stderr: () => string;
  dir: string;
  cleanup: () => Promise<void>;
}

/** Starts `sfumato serve --port 0` on a fresh library and waits for its JSON line. */
async function startServe(extra: string[] = []): Promise<Child> {
  const lib = tempDir('sfumato-sec-');
  const proc = spawn(process.execPath, [CLI, '--data-dir', lib.dir, '--json', 'serve', '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  const info = await new Promise<{ port: number; token: string; url: string }>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    proc.once('exit', (code) => reject(new Error(`sfumato serve exited (${code}) before listening: ${err}`)));
  });
  return {
    proc,
    ...info,
    stderr: () => err,
    dir: lib.dir,
    cleanup: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      lib.cleanup();
    },
  };
}

/** Sends raw bytes and returns whatever came back until the server closed (or `waitMs` passed). */
function raw(port: number, text: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const sock = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, waitMs);
    sock.on('data', (d) => (got += String(d)));
    sock.on('close', done);
    sock.on('error', done);
    sock.write(text);
  });
}
const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

let srv: Child;
const base = () => `http://127.0.0.1:${srv.port}`;
const auth = () => ({ authorization: `Bearer ${srv.token}` });

/** The server process is up and answers an authenticated API call. */
async function expectAlive(c: Child = srv) {
  expect(c.proc.exitCode, `the server exited; stderr: ${c.stderr()}`).toBeNull();
  const r = await fetch(`http://127.0.0.1:${c.port}/api/system/info`, { method: 'POST', headers: { authorization: `Bearer ${c.token}` }, body: '{}' });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  srv = await startServe();
  mkdirSync(join(srv.dir, 'samples'), { recursive: true });
  writeFileSync(join(srv.dir, 'samples', 'small.png'), Buffer.alloc(2048, 7));
  writeFileSync(join(srv.dir, 'samples', 'big.png'), Buffer.alloc(1 << 20, 9));
});
afterAll(async () => {
  await srv?.cleanup();
});

describe('web mode survives malformed requests', () => {
  it('answers 400 to a request path that is not a valid URL (GET //%zz/), and keeps serving', async () => {
    const r = await raw(srv.port, `GET //%zz/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(r)).toBe(400);
    await expectAlive();
  });

  it('answers 400 to a WebSocket upgrade with an invalid URL (GET //[), and keeps serving', async () => {
    const r = await raw(
      srv.port,
      `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(statusOf(r)).toBe(400);
    await expectAlive();
  });

  it('answers 400, not 500, to malformed %-escapes in static and /api/files/ paths', async () => {
    for (const path of ['/%ff', '/assets/%zz.js', '/api/files/%ff', '/api/files/samples/%E0%A4%A.png']) {
      const r = await raw(srv.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${srv.token}\r\nConnection: close\r\n\r\n`);
      expect(statusOf(r), path).toBe(400);
      expect(r, path).not.toMatch(/\n\s+at /);
    }
    await expectAlive();
  });

  it('answers unparsable HTTP with 400 and odd request targets without crashing', async () => {
    expect(statusOf(await raw(srv.port, 'HELLO THERE\r\n\r\n'))).toBe(400);
    for (const target of ['*', 'http://evil.example/api/system/info', '//', '/api/files/', '/api/', '/api/files/../../etc/passwd']) {
      const r = await raw(srv.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${srv.token}\r\nConnection: close\r\n\r\n`);
      expect(statusOf(r), target).toBeGreaterThanOrEqual(400);
      expect(statusOf(r), target).toBeLessThan(500);
    }
    await expectAlive();
  });

  it('survives WebSocket upgrades whose client resets the connection at once', async () => {
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve) => {
        const sock = connect(srv.port, '127.0.0.1', () => {
          sock.write(
            `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
          );
          sock.resetAndDestroy();
          resolve();
        });
        sock.on('error', () => resolve());
      });
    }
    await expectAlive();
  });
});

describe('web mode refuses what it must', () => {
  it('refuses a foreign Origin with 403 on HTTP and on the WebSocket, and accepts its own', async () => {
    const foreign = await fetch(`${base()}/api/system/info`, { method: 'POST', headers: { ...auth(), origin: 'http://evil.example' }, body: '{}' });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toMatch(/Origin http:\/\/evil\.example/);
    const own = await fetch(`${base()}/api/system/info`, { method: 'POST', headers: { ...auth(), origin: base() }, body: '{}' });
    expect(own.status).toBe(200);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api/events`, ['sfumato', `sfumato.token.${srv.token}`], { origin: 'http://evil.example' });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    expect(status).toBe(403);
    await expectAlive();
  });

  it('answers 413 with a JSON message to an over-size body, declared or chunked, and keeps the server up', async () => {
    const big = 'x'.repeat((1 << 20) + 10);
    const declared = await fetch(`${base()}/api/datasets/list`, { method: 'POST', headers: auth(), body: big });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ ok: false, error: { code: 'payload_too_large', message: expect.stringMatching(/larger than 1048576 bytes/) } });
    const chunk = new TextEncoder().encode('y'.repeat(256 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent++ < 8) ctrl.enqueue(chunk);
        else ctrl.close();
      },
    });
    const chunked = await fetch(`${base()}/api/datasets/list`, { method: 'POST', headers: auth(), body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    await expectAlive();
  });

  it('refuses a Host that is not this server with 421, accepts the loopback names', async () => {
    const r = await raw(srv.port, `GET / HTTP/1.1\r\nHost: evil.example:${srv.port}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(r)).toBe(421);
    for (const h of [`127.0.0.1:${srv.port}`, `localhost:${srv.port}`]) {
      const ok = await raw(srv.port, `POST /api/system/info HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${srv.token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      expect(statusOf(ok), h).toBe(200);
    }
  });

  it('reaches every contract channel over HTTP (none answers "No API endpoint")', async () => {
    for (const ch of ALL_CHANNELS) {
      const r = await fetch(base() + channelPath(ch), { method: 'POST', headers: auth(), body: '{}' });
      const body = (await r.json()) as { ok: boolean; error?: { code: string; message: string } };
      expect(body.error?.message ?? '', ch).not.toMatch(/No API endpoint/);
      expect([200, 400, 404], ch).toContain(r.status);
    }
    const empty = await fetch(`${base()}/api/gallery/emptyTrash`, { method: 'POST', headers: auth(), body: '{}' });
    expect(await empty.json()).toEqual({ ok: true, result: { deleted: 0 } });
  });

  it('does not serve a library symlink that points outside the library', async () => {
    const outside = tempDir('sfumato-outside-');
    writeFileSync(join(outside.dir, 'secret.json'), '{"secret": true}');
    symlinkSync(join(outside.dir, 'secret.json'), join(srv.dir, 'samples', 'leak.json'));
    try {
      const r = await fetch(`${base()}/api/files/samples/leak.json`, { headers: auth() });
      expect(r.status).toBe(404);
      expect(await r.text()).not.toMatch(/secret/);
    } finally {
      rmSync(join(srv.dir, 'samples', 'leak.json'));
      outside.cleanup();
    }
  });
});

/** Descriptors of the server process that point at files under the library's samples/ folder. */
function openSampleFds(c: Child): string[] {
  const dir = `/proc/${c.proc.pid}/fd`;
  const samples = join(c.dir, 'samples');
  const found: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      const target = readlinkSync(join(dir, fd));
      if (target.startsWith(samples)) found.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return found;
}

describe('web mode and library files', () => {
  it('leaks no file descriptor over 5,000 complete, HEAD and aborted GETs', async () => {
    expect(openSampleFds(srv)).toEqual([]);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const one = (i: number) =>
      new Promise<void>((resolve) => {
        // 0..3 complete GET, 4..5 HEAD (keep-alive); 6..7 abort after the headers, 8 mid-body,
        // 9 right after sending (each on its own connection, which the abort destroys).
        const k = i % 10;
        const kind = k <= 3 ? 0 : k <= 5 ? 1 : k <= 7 ? 2 : k === 8 ? 3 : 4;
        const file = kind >= 2 ? 'big.png' : 'small.png';
        const req = request(
          { host: '127.0.0.1', port: srv.port, path: `/api/files/samples/${file}`, method: kind === 1 ? 'HEAD' : 'GET', headers: auth(), agent: kind >= 2 ? false : agent },
          (res) => {
            if (kind === 2) {
              req.destroy(); // abort as soon as the headers arrive
              return resolve();
            }
            if (kind === 3) {
              res.once('data', () => {
                req.destroy(); // abort mid-body
                resolve();
              });
              return;
            }
            res.resume();
            res.on('end', () => resolve());
            res.on('error', () => resolve());
          },
        );
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.end();
        if (kind === 4) setImmediate(() => req.destroy()); // abort before or during the response
      });
    const N = 5000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) await one(next++);
      }),
    );
    agent.destroy();
    // The server notices the closed sockets shortly after; give it time, then every handle must be closed.
    let open = openSampleFds(srv);
    for (let i = 0; i < 100 && open.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      open = openSampleFds(srv);
    }
    expect(open).toEqual([]);
    await expectAlive();
  }, 60_000);

  it('answers 200 or 404 while files are removed and re-created under it, and keeps serving', async () => {
    const file = join(srv.dir, 'samples', 'flicker.png');
    const statuses = new Set<number>();
    for (let round = 0; round < 40; round++) {
      writeFileSync(file, Buffer.alloc(256 * 1024, round));
      const reqs = Array.from({ length: 5 }, () =>
        fetch(`${base()}/api/files/samples/flicker.png`, { headers: auth() })
          .then(async (r) => {
            statuses.add(r.status);
            await r.arrayBuffer().catch(() => undefined);
          })
          .catch(() => statuses.add(-1)),
      );
      await new Promise((r) => setImmediate(r));
      rmSync(file, { force: true });
      await Promise.all(reqs);
    }
    for (const st of statuses) expect([200, 404, -1]).toContain(st);
    await expectAlive();
  });
});

describe('web mode on a non-loopback host', () => {
  let wide: Child;
  beforeAll(async () => {
    wide = await startServe(['--host', '0.0.0.0']);
    mkdirSync(join(wide.dir, 'samples'), { recursive: true });
    writeFileSync(join(wide.dir, 'samples', 'a.png'), Buffer.alloc(100, 1));
  });
  afterAll(async () => {
    await wide?.cleanup();
  });

  it('warns, puts the token in the URL fragment, and takes it only from the Authorization header', async () => {
    expect(wide.stderr()).toMatch(/warning: .*0\.0\.0\.0.*Authorization header/);
    expect(wide.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/#token=[0-9a-f]{32}$/);
    const b = `http://127.0.0.1:${wide.port}`;
    const query = await fetch(`${b}/api/system/info?token=${wide.token}`, { method: 'POST', body: '{}' });
    expect(query.status).toBe(401);
    expect(((await query.json()) as { error: { message: string } }).error.message).toMatch(/Authorization: Bearer/);
    expect((await fetch(`${b}/api/files/samples/a.png?token=${wide.token}`)).status).toBe(401);
    await expectAlive(wide);
    // The bound host is accepted as Host.
    const bound = await raw(wide.port, `POST /api/system/info HTTP/1.1\r\nHost: 0.0.0.0:${wide.port}\r\nAuthorization: Bearer ${wide.token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect(statusOf(bound)).toBe(200);
  });

  it('opens the WebSocket with the token as a subprotocol, never with ?token=', async () => {
    const open = (url: string, protocols?: string[]) =>
      new Promise<{ status: number; protocol?: string }>((resolve) => {
        const ws = new WebSocket(url, protocols);
        ws.once('open', () => {
          resolve({ status: 101, protocol: ws.protocol });
          ws.close();
        });
        ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
        ws.once('error', () => resolve({ status: -1 }));
      });
    const u = `ws://127.0.0.1:${wide.port}/api/events`;
    expect((await open(`${u}?token=${wide.token}`)).status).toBe(401);
    expect((await open(u, ['sfumato', 'sfumato.token.nope'])).status).toBe(401);
    expect(await open(u, ['sfumato', `sfumato.token.${wide.token}`])).toEqual({ status: 101, protocol: 'sfumato' });
  });

  it('serves library files to the HttpOnly cookie that an authenticated POST /api/session sets', async () => {
    const b = `http://127.0.0.1:${wide.port}`;
    expect((await fetch(`${b}/api/session`, { method: 'POST' })).status).toBe(401);
    const session = await fetch(`${b}/api/session`, { method: 'POST', headers: { authorization: `Bearer ${wide.token}` } });
    expect(session.status).toBe(200);
    const cookie = session.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(wide.token);
    const pair = cookie.split(';')[0];
    expect((await fetch(`${b}/api/files/samples/a.png`, { headers: { cookie: pair } })).status).toBe(200);
    expect((await fetch(`${b}/api/files/samples/a.png`, { headers: { cookie: pair.replace(/=.*/, '=wrong') } })).status).toBe(401);
    // The cookie is for files only, not for the API.
    expect((await fetch(`${b}/api/system/info`, { method: 'POST', headers: { cookie: pair }, body: '{}' })).status).toBe(401);
  });
});
