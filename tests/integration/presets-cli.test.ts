/**
 * Saved presets are the library's, not one window's: a schedule saved through a running web
 * server is listed by the CLI on the same folder; `presets export` / `presets import` carry them
 * to another library unchanged; `train --schedule NAME`, `train --preset NAME` and
 * `sample --preset NAME` find them through the same channels.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../../src-main/server/http';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, tempDir } from '../helpers/library';

const run = promisify(execFile);

let a: ReturnType<typeof tempDir>;
let b: ReturnType<typeof tempDir>;
let s: Sfumato;
let srv: WebServer;

async function sfumato(dir: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [CLI, '--data-dir', dir, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}
const json = <T>(out: string): T => {
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as T;
};

const SOFT = { kind: 'discrete', beta: 'custom', trainSteps: 400, logSnrPoints: [[0, 8], [0.5, 0.5], [1, -9]] };

beforeAll(async () => {
  a = tempDir();
  b = tempDir();
  s = await Sfumato.open({ libraryPath: a.dir, mode: 'web' });
  srv = await startWebServer(s, { port: 0 });
});
afterAll(async () => {
  await srv?.close();
  await s?.close();
  a?.cleanup();
  b?.cleanup();
});

type Listed = { presets: { id: string; kind: string; name: string; body: unknown }[] };

describe('presets across the server and the CLI', () => {
  it('a schedule saved in the web server is listed by the CLI on the same library', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.port}/api/presets/save`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${srv.token}` },
      body: JSON.stringify({ kind: 'schedule', name: 'soft-start', body: SOFT }),
    });
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
    await s.api['presets:save']({ kind: 'sampling', name: 'quick', body: { sampler: 'euler', steps: 2, count: 1 } });
    await s.api['presets:save']({ kind: 'training', name: 'tiny', body: { baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4, schedule: SOFT } });

    const r = await sfumato(a.dir, ['presets', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = json<Listed>(r.out).presets;
    expect(listed.map((p) => `${p.kind}:${p.name}`).sort()).toEqual(['sampling:quick', 'schedule:soft-start', 'training:tiny']);
    expect(listed.find((p) => p.name === 'soft-start')!.body).toMatchObject(SOFT);
  });

  it('export from one library and import into another round-trips every preset; a second import renames', async () => {
    const file = join(b.dir, 'presets.json');
    const ex = await sfumato(a.dir, ['presets', 'export', file, '--json']);
    expect(ex.code).toBe(0);
    expect(json<{ presets: number }>(ex.out).presets).toBe(3);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'sfumato-presets', version: 1 });

    const im = await sfumato(b.dir, ['presets', 'import', file, '--json']);
    expect(im.code).toBe(0);
    expect(json<{ imported: unknown[] }>(im.out).imported).toHaveLength(3);
    const strip = (l: Listed['presets']) => l.map(({ kind, name, body }) => ({ kind, name, body })).sort((x, y) => (x.kind + x.name).localeCompare(y.kind + y.name));
    const inA = (await s.api['presets:list']({})).presets;
    const other = await Sfumato.open({ libraryPath: b.dir, mode: 'cli' });
    const inB = (await other.api['presets:list']({})).presets;
    await other.close();
    expect(strip(inB)).toEqual(strip(inA));

    const again = await sfumato(b.dir, ['presets', 'import', file]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('saved as "soft-start (2)"');
  });

  it('a bad file imports nothing and says which preset and field, exit 2', async () => {
    const file = join(b.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ format: 'sfumato-presets', version: 1, presets: [{ kind: 'sampling', name: 'slow', body: { steps: 0 } }] }));
    const r = await sfumato(b.dir, ['presets', 'import', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sampling preset "slow": presets\[0\]\.body\.steps/);
    writeFileSync(file, '{ not json');
    const r2 = await sfumato(b.dir, ['presets', 'import', file]);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('bad.json: not valid JSON');
  });

  it('train --schedule NAME and --preset NAME resolve saved ones; an unknown name is a usage error listing the saved', async () => {
    const miss = await sfumato(a.dir, ['train', '--dataset', 'ds_nope', '--schedule', 'nosuch']);
    expect(miss.code).toBe(2);
    expect(miss.err).toContain('"soft-start"');
    const missPreset = await sfumato(a.dir, ['train', '--dataset', 'ds_nope', '--preset', 'nosuch']);
    expect(missPreset.code).toBe(2);
    expect(missPreset.err).toContain('"tiny"');
    // both names resolve, so what fails is the dataset
    const r = await sfumato(a.dir, ['train', '--dataset', 'ds_nope', '--preset', 'tiny', '--schedule', 'soft-start']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('ds_nope');
  });

  it('sample --preset NAME takes the preset\'s sampler and count (not the flags\' defaults); a typed flag wins', async () => {
    const r = await sfumato(a.dir, ['sample', '--model', 'emoji-32', '--preset', 'quick', '--steps', '3', '--seed', '3', '--json']);
    expect(r.code).toBe(0);
    const samples = json<{ samples: { sampler: string; steps: number; seed: number }[] }>(r.out).samples;
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ sampler: 'euler', steps: 3, seed: 3 });
  }, 120_000);
});
