/**
 * The web-mode folder picker (`folders:list`) against escape attempts. The real `sfumato serve`
 * runs in a child process with HOME pointed at a temporary folder; requests go over HTTP on
 * 127.0.0.1 with (and without) the token. Nothing outside the home folder and the library folder
 * may be listed: not through `..`, an absolute path, a symbolic link, or an escaped spelling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/library';

let proc: ChildProcess;
let port = 0;
let token = '';
let home = '';
let outside = '';
let lib = '';
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  const h = tempDir('sfumato-home-');
  const o = tempDir('sfumato-outside-');
  const l = tempDir('sfumato-lib-');
  cleanups.push(h.cleanup, o.cleanup, l.cleanup);
  home = realpathSync(h.dir);
  outside = realpathSync(o.dir);
  lib = realpathSync(l.dir);
  mkdirSync(join(home, 'pics', 'sub'), { recursive: true });
  writeFileSync(join(home, 'pics', 'a.png'), 'x');
  writeFileSync(join(home, 'pics', 'b.JPG'), 'x');
  writeFileSync(join(home, 'pics', 'a.txt'), 'a caption');
  writeFileSync(join(home, 'pics', '.c.png'), 'x');
  mkdirSync(join(home, '.secret-hidden'));
  mkdirSync(join(outside, 'secret'));
  writeFileSync(join(outside, 'secret', 'x.png'), 'x');
  symlinkSync(outside, join(home, 'link-out'));
  symlinkSync(join(home, 'pics'), join(home, 'link-in'));
  proc = spawn(process.execPath, [CLI, '--data-dir', lib, '--json', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: home } });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  const info = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((x) => x.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    proc.once('exit', (code) => reject(new Error(`sfumato serve exited (${code}): ${err}`)));
  });
  ({ port, token } = info);
});

afterAll(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  for (const c of cleanups) c();
});

async function list(body: string, auth = true): Promise<{ status: number; json: any }> {
  const r = await fetch(`http://127.0.0.1:${port}/api/folders/list`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}
const listPath = (path?: string) => list(JSON.stringify(path === undefined ? {} : { path }));

describe('folder picker (folders:list) in web mode', () => {
  it('needs the token like every /api/ channel', async () => {
    const r = await list('{}', false);
    expect(r.status).toBe(401);
    expect(JSON.stringify(r.json)).not.toContain('pics');
  });

  it('lists the home folder by default: visible subfolders with image counts, no hidden ones, no link that leads out', async () => {
    const r = await listPath();
    expect(r.status).toBe(200);
    const l = r.json.result;
    expect(l.path).toBe(home);
    expect(l.parent).toBeNull();
    expect(l.roots).toEqual([home, lib]);
    expect(l.folders.map((f: { name: string }) => f.name)).toEqual(['link-in', 'pics']);
    expect(l.folders.find((f: { name: string }) => f.name === 'pics').imageCount).toBe(2);
    const sub = (await listPath('pics')).json.result;
    expect(sub).toMatchObject({ path: join(home, 'pics'), parent: home, imageCount: 2 });
    expect(sub.folders.map((f: { name: string }) => f.name)).toEqual(['sub']);
    expect((await listPath(join(home, 'link-in'))).json.result.path).toBe(join(home, 'pics'));
  });

  it('lists the library folder too', async () => {
    const r = await listPath(lib);
    expect(r.status).toBe(200);
    expect(r.json.result.path).toBe(lib);
  });

  const refused = async (path: string) => {
    const r = await listPath(path);
    expect(r.status, path).toBe(403);
    expect(r.json.error.code).toBe('forbidden');
    expect(r.json.error.message).toContain(path);
    expect(r.json.result).toBeUndefined();
    expect(JSON.stringify(r.json)).not.toContain('x.png');
  };

  it('refuses .. out of the home folder (403, naming the path)', async () => {
    await refused('..');
    await refused('../..');
    await refused('pics/../../..');
    await refused(`${home}/../`);
  });

  it('refuses absolute paths outside the home and library folders', async () => {
    await refused('/');
    await refused('/etc');
    await refused(outside);
    await refused(join(outside, 'secret'));
  });

  it('refuses a symbolic link in the home folder that leads out of it, and anything under it', async () => {
    await refused('link-out');
    await refused(join(home, 'link-out', 'secret'));
  });

  it('refuses escaped spellings: JSON \\u escapes decode to .. and are refused; %-escapes are not decoded', async () => {
    const r = await list('{"path":"\\u002e\\u002e/\\u002e\\u002e"}');
    expect(r.status).toBe(403);
    const pct = await listPath('%2e%2e/%2e%2e/etc');
    expect(pct.status).toBe(404);
    expect(JSON.stringify(pct.json)).not.toContain('passwd');
    const url = await fetch(`http://127.0.0.1:${port}/api/folders/list/..%2F..%2Fetc`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' });
    expect(url.status).toBe(404);
    const nul = await listPath('pics\u0000/../..');
    expect(nul.status).toBe(400);
  });
});
