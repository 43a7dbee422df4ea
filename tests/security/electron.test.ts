/**
 * The desktop shell's security decisions (src-main/app/security.ts) and the sfumato:// handler
 * (src-main/app/app-protocol.ts) against a real library folder and a real renderer folder.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileHandleStream, handleAppRequest } from '../../src-main/app/app-protocol';
import {
  APP_ENTRY_URL,
  DESKTOP_CSP,
  isSafeExternalUrl,
  navigationDecision,
  originOf,
  permissionDecision,
  trustedOrigins,
} from '../../src-main/app/security';
import { Library } from '../../src-main/db/library';
import { tempDir } from '../helpers/library';

const trusted = trustedOrigins();

describe('shell.openExternal allow-list', () => {
  it.each(['https://github.com/sfumato/sfumato', 'http://example.org/docs?x=1#y'])('lets %s go to the browser', (url) => {
    expect(isSafeExternalUrl(url)).toBe(true);
  });
  it.each([
    'file:///etc/passwd',
    'smb://server/share/run.exe',
    'javascript:alert(1)',
    'data:text/html,hi',
    'sfumato://app/index.html',
    'vscode://file/x',
    'ms-msdt:/id PCWDiagnostic',
    'https://user:pw@example.org/',
    'not a url',
    '',
  ])('keeps %s away from the browser', (url) => {
    expect(isSafeExternalUrl(url)).toBe(false);
  });
});

describe('navigation guard', () => {
  it('lets the window move within the app', () => {
    expect(navigationDecision(APP_ENTRY_URL, trusted)).toEqual({ allow: true });
    expect(navigationDecision('sfumato://app/index.html#/gallery', trusted)).toEqual({ allow: true });
    expect(navigationDecision('SFUMATO://APP/', trusted)).toEqual({ allow: true });
  });
  it('stops a dropped file and other schemes without opening them', () => {
    expect(navigationDecision('file:///home/artist/pic.png', trusted)).toEqual({ allow: false, openExternal: false });
    expect(navigationDecision('sfumato://library/x.png', trusted)).toEqual({ allow: false, openExternal: false });
    expect(navigationDecision('javascript:alert(1)', trusted)).toEqual({ allow: false, openExternal: false });
  });
  it('stops a web link and sends it to the browser', () => {
    expect(navigationDecision('https://example.org/', trusted)).toEqual({ allow: false, openExternal: true });
  });
  it('allows the dev server only when it is the configured one', () => {
    expect(navigationDecision('http://localhost:5173/', trusted)).toMatchObject({ allow: false });
    expect(navigationDecision('http://localhost:5173/', trustedOrigins('http://localhost:5173/'))).toEqual({ allow: true });
  });
});

describe('origins and permissions', () => {
  it('computes origins of custom schemes (Node says "null")', () => {
    expect(originOf('sfumato://app/index.html#x')).toBe('sfumato://app');
    expect(originOf('http://localhost:5173/a')).toBe('http://localhost:5173');
    expect(originOf('file:///x')).toBeUndefined();
    expect(originOf('about:blank')).toBeUndefined();
    expect(originOf(undefined)).toBeUndefined();
  });
  it.each(['media', 'geolocation', 'clipboard-read', 'openExternal', 'fileSystem', 'hid', 'serial', 'usb', 'fullscreen'])(
    'denies %s even to the app',
    (perm) => {
      expect(permissionDecision(perm, APP_ENTRY_URL, trusted)).toBe(false);
    },
  );
  it('allows clipboard writes from the app only', () => {
    expect(permissionDecision('clipboard-sanitized-write', APP_ENTRY_URL, trusted)).toBe(true);
    expect(permissionDecision('clipboard-sanitized-write', 'sfumato://app', trusted)).toBe(true);
    expect(permissionDecision('clipboard-sanitized-write', 'https://evil.example/', trusted)).toBe(false);
    expect(permissionDecision('clipboard-sanitized-write', undefined, trusted)).toBe(false);
  });
  it('allows notifications from the app only (a job ending while the window is in the background)', () => {
    expect(permissionDecision('notifications', APP_ENTRY_URL, trusted)).toBe(true);
    expect(permissionDecision('notifications', 'sfumato://app', trusted)).toBe(true);
    expect(permissionDecision('notifications', 'https://evil.example/', trusted)).toBe(false);
    expect(permissionDecision('notifications', 'sfumato://other/index.html', trusted)).toBe(false);
    expect(permissionDecision('notifications', 'http://localhost:5173/', trusted)).toBe(false);
    expect(permissionDecision('notifications', undefined, trusted)).toBe(false);
  });
});

describe('sfumato:// protocol', () => {
  let tmp: ReturnType<typeof tempDir>;
  let outside: ReturnType<typeof tempDir>;
  let library: Library;
  let rendererDir: string;
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

  beforeAll(() => {
    tmp = tempDir();
    outside = tempDir('sfumato-outside-');
    library = new Library(join(tmp.dir, 'library'));
    rendererDir = join(tmp.dir, 'renderer');
    mkdirSync(join(rendererDir, 'assets'), { recursive: true });
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Sfumato</title>');
    writeFileSync(join(rendererDir, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(rendererDir, 'assets', 'index-abc.css'), 'body{}');
    writeFileSync(join(rendererDir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(library.root, 'samples', 'smp_1.png'), png);
    writeFileSync(join(library.root, 'samples', 'a b#1.png'), png);
    writeFileSync(join(library.root, 'samples', 'smp_1.json'), '{"seed":1}');
    writeFileSync(library.dbFile, 'SQLite format 3\0 secret');
    writeFileSync(join(outside.dir, 'secret.png'), png);
    writeFileSync(join(outside.dir, 'secret.txt'), 'secret');
    writeFileSync(join(tmp.dir, 'outside-renderer.js'), 'secret');
    symlinkSync(join(outside.dir, 'secret.png'), join(library.root, 'samples', 'link-out.png'));
    symlinkSync(join(outside.dir), join(library.root, 'samples', 'dir-out'));
    symlinkSync(join(tmp.dir, 'outside-renderer.js'), join(rendererDir, 'assets', 'link-out.js'));
  });
  afterAll(() => {
    tmp?.cleanup();
    outside?.cleanup();
  });

  const get = (url: string, method = 'GET') => handleAppRequest(new Request(url, { method }), { rendererDir, library });

  it('serves the renderer from sfumato://app with MIME types and the CSP', async () => {
    const root = await get('sfumato://app/');
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(root.headers.get('content-security-policy')).toBe(DESKTOP_CSP);
    expect(await root.text()).toContain('<title>Sfumato</title>');
    const entry = await get(APP_ENTRY_URL);
    expect(entry.status).toBe(200);
    const js = await get('sfumato://app/assets/index-abc.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
    expect((await get('sfumato://app/assets/index-abc.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await get('sfumato://app/favicon.svg')).headers.get('content-type')).toBe('image/svg+xml');
    expect(DESKTOP_CSP).toContain("script-src 'self'");
    expect(DESKTOP_CSP).toContain("object-src 'none'");
  });

  it('serves library images and JSON under sfumato://app/library/', async () => {
    const r = await get('sfumato://app/library/samples/smp_1.png');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await r.arrayBuffer()).equals(png)).toBe(true);
    const enc = await get(`sfumato://app/library/samples/${encodeURIComponent('a b#1.png')}`);
    expect(enc.status).toBe(200);
    const json = await get('sfumato://app/library/samples/smp_1.json');
    expect(await json.json()).toEqual({ seed: 1 });
    const head = await get('sfumato://app/library/samples/smp_1.png', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(png.length));
  });

  it('never serves the database, non-image files, or files outside the library', async () => {
    expect((await get('sfumato://app/library/sfumato.db')).status).toBe(404);
    expect((await get('sfumato://app/library/samples/link-out.png')).status).toBe(404);
    expect((await get('sfumato://app/library/samples/dir-out/secret.png')).status).toBe(404);
    expect((await get('sfumato://app/library/samples/dir-out/secret.txt')).status).toBe(404);
    expect((await get('sfumato://app/library/..%2F..%2Foutside-renderer.js')).status).toBe(400);
    expect((await get('sfumato://app/library/%2E%2E/library/sfumato.db')).status).toBe(404);
    const dots = await get('sfumato://app/library/..%2F..%2F..%2F..%2Fetc%2Fpasswd');
    expect(dots.status).toBe(400);
    expect(await dots.text()).toMatch(/outside the library/);
    expect((await get('sfumato://app/library/samples/%E0%A4%A.png')).status).toBe(400);
  });

  it('keeps renderer requests inside the renderer folder', async () => {
    expect((await get('sfumato://app/..%2Foutside-renderer.js')).status).toBe(400);
    expect((await get('sfumato://app/assets/..%2F..%2Foutside-renderer.js')).status).toBe(400);
    expect((await get('sfumato://app/assets/link-out.js')).status).toBe(404);
    expect((await get('sfumato://app/assets')).status).toBe(404);
    const missing = await get('sfumato://app/nope.js');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/nope\.js.*npm run build/);
  });

  it('answers only host app and only GET/HEAD', async () => {
    // The old library URL form (sfumato://library/...) is gone: one origin for app and images.
    expect((await get('sfumato://library/samples/smp_1.png')).status).toBe(404);
    expect((await get('sfumato://evil/index.html')).status).toBe(404);
    expect((await get('sfumato://app/library/samples/smp_1.png', 'POST')).status).toBe(405);
  });

  it('closes the file handle when a library stream ends or is cancelled', async () => {
    const whole = await library.servableFile('samples/smp_1.png');
    const chunks: Uint8Array[] = [];
    for await (const c of fileHandleStream(whole.handle, whole.size, 4)) chunks.push(c);
    expect(Buffer.concat(chunks).equals(png)).toBe(true);
    await expect(whole.handle.stat()).rejects.toThrow(/closed/i);

    const part = await library.servableFile('samples/smp_1.png');
    const reader = fileHandleStream(part.handle, part.size, 4).getReader();
    await reader.read();
    await reader.cancel();
    await expect(part.handle.stat()).rejects.toThrow(/closed/i);
  });
});
