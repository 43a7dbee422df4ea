/**
 * The Electron IPC handler table against a real service on a temp library: every contract channel
 * is registered and answers an envelope to Sfumato's own page, and a foreign frame is refused
 * before the service is touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CHANNELS, type Channel } from '../../src-main/api/channels';
import { buildIpcHandlers, type Envelope, type IpcHandler } from '../../src-main/app/ipc';
import { APP_ENTRY_URL, isTrustedUrl, trustedOrigins } from '../../src-main/app/security';
import { Sfumato } from '../../src-main/services/sfumato';
import { EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let table: ReadonlyMap<Channel, IpcHandler>;
const trusted = trustedOrigins();

beforeAll(async () => {
  lib = tempDir();
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'desktop' });
  table = buildIpcHandlers(s.api, (url) => isTrustedUrl(url, trusted));
});
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

function isEnvelope(r: unknown): r is Envelope {
  if (!r || typeof r !== 'object') return false;
  const e = r as Record<string, unknown>;
  if (e.ok === true) return 'result' in e;
  if (e.ok === false) {
    const err = e.error as Record<string, unknown> | undefined;
    return typeof err?.code === 'string' && typeof err?.message === 'string';
  }
  return false;
}

describe('IPC handler table', () => {
  it('has exactly one handler per contract channel', () => {
    expect([...table.keys()].sort()).toEqual([...ALL_CHANNELS].sort());
  });

  it.each(ALL_CHANNELS.map((c) => [c]))('%s answers an envelope to the app page', async (channel) => {
    const reply = await table.get(channel)!(`${APP_ENTRY_URL}#/home`, {});
    expect(isEnvelope(reply), JSON.stringify(reply)).toBe(true);
    // Reaching the service means a result, or its request validation refusing the empty request:
    // never the sender refusal, never an internal error such as a missing service function.
    if (!reply.ok) expect(reply.error.code, reply.error.message).toBe('bad_request');
  });

  it('returns results and service errors as envelopes', async () => {
    const info = await table.get('system:info')!(APP_ENTRY_URL, {});
    expect(info).toMatchObject({ ok: true, result: { mode: 'desktop' } });
    const missing = await table.get('runs:get')!(APP_ENTRY_URL, { id: 'run_nope' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const bad = await table.get('sample:generate')!(APP_ENTRY_URL, { count: 'four' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it.each([
    ['a web page', 'https://evil.example/'],
    ['a local file dropped on the window', 'file:///home/artist/Downloads/page.html'],
    ['another sfumato host', 'sfumato://library/index.html'],
    ['a blank frame', 'about:blank'],
    ['a data URL', 'data:text/html,<script>1</script>'],
    ['a frame that is gone', undefined],
  ])('refuses every channel from %s', async (_what, url) => {
    for (const channel of ALL_CHANNELS) {
      const reply = await table.get(channel)!(url, {});
      expect(reply, channel).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
      if (!reply.ok) expect(reply.error.message).toContain(channel);
    }
  });

  it('does not run the service for a refused sender', async () => {
    const before = (await s.api['datasets:list']({} as never)).datasets.length;
    const reply = await table.get('datasets:import')!('https://evil.example/', { dir: EMOJI_DIR, imageSize: 16 });
    expect(reply.ok).toBe(false);
    expect((await s.api['datasets:list']({} as never)).datasets.length).toBe(before);
  });

  it('trusts the Vite dev server only on loopback', () => {
    expect(isTrustedUrl('http://localhost:5173/', trustedOrigins('http://localhost:5173'))).toBe(true);
    expect(isTrustedUrl('http://localhost:5174/', trustedOrigins('http://localhost:5173'))).toBe(false);
    expect(isTrustedUrl('http://evil.example:5173/', trustedOrigins('http://evil.example:5173'))).toBe(false);
  });
});
