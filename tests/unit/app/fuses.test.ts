/**
 * scripts/flip-fuses.mjs against a stand-in Electron binary: a file holding the fuse sentinel and
 * a V1 wire in Electron's shipped state, so the real @electron/fuses code reads and writes it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../../helpers/library';

const SCRIPT = join(ROOT, 'scripts', 'flip-fuses.mjs');
const SENTINEL = Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX');
// Index: 0 RunAsNode, 1 CookieEncryption, 2 NODE_OPTIONS, 3 --inspect, 4 asar integrity,
// 5 only asar, 6 browser V8 snapshot, 7 file:// privileges, 8 wasm trap handlers.
const SHIPPED = '101100011';

let tmp: ReturnType<typeof tempDir>;
let bin: string;

function fakeElectron(wire: string): void {
  writeFileSync(bin, Buffer.concat([Buffer.alloc(4096, 0x7f), SENTINEL, Buffer.from([1, wire.length]), Buffer.from(wire, 'latin1'), Buffer.alloc(512, 0x7f)]));
}
function wireOf(): string {
  const b = readFileSync(bin);
  const at = b.indexOf(SENTINEL) + SENTINEL.length;
  return b.subarray(at + 2, at + 2 + b[at + 1]).toString('latin1');
}
function flip(env: Record<string, string> = {}, target = bin) {
  const r = spawnSync(process.execPath, [SCRIPT, target], { encoding: 'utf8', env: { ...process.env, SFUMATO_ELECTRON_DEBUG: '', ...env } });
  return { status: r.status, out: r.stdout + r.stderr };
}

beforeAll(() => {
  tmp = tempDir();
  bin = join(tmp.dir, 'electron');
});
afterAll(() => tmp?.cleanup());

describe('flip-fuses', () => {
  it('turns RunAsNode, NODE_OPTIONS, --inspect and file:// privileges off and cookie encryption on', () => {
    fakeElectron(SHIPPED);
    const r = flip();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/RunAsNode off/);
    // asar fuses (4, 5) stay as shipped: there is no app.asar to validate.
    expect(wireOf()).toBe('010000001');
  });

  it('writes nothing when the fuses are already right', () => {
    const before = statSync(bin).mtimeMs;
    const r = flip();
    expect(r.status).toBe(0);
    expect(r.out).toBe('');
    expect(statSync(bin).mtimeMs).toBe(before);
  });

  it('switches NODE_OPTIONS and --inspect back on for SFUMATO_ELECTRON_DEBUG=1, and off again after', () => {
    expect(flip({ SFUMATO_ELECTRON_DEBUG: '1' }).status).toBe(0);
    expect(wireOf()).toBe('011100001');
    expect(flip().status).toBe(0);
    expect(wireOf()).toBe('010000001');
  });

  it('leaves fuses a shorter (older) wire does not have, and removed fuses, alone', () => {
    fakeElectron('1r11');
    expect(flip().status).toBe(0);
    expect(wireOf()).toBe('0r00');
  });

  it('says which file is wrong when there is no Electron binary', () => {
    const missing = flip({}, join(tmp.dir, 'nope'));
    expect(missing.status).toBe(1);
    expect(missing.out).toContain(join(tmp.dir, 'nope'));
    writeFileSync(join(tmp.dir, 'not-electron'), 'hello');
    const wrong = flip({}, join(tmp.dir, 'not-electron'));
    expect(wrong.status).toBe(1);
    expect(wrong.out).toMatch(/cannot read the fuses of .*not-electron/);
  });
});
