/**
 * The one atomic-write module (db/files.ts) and the one "is this process alive" (proc.ts):
 * stale temp files are recognised under both temp-name schemes (today's `.sfumato-tmp` and the
 * `.tmp` of older versions, which libraries on disk may still hold), and EPERM means alive.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidAlive } from '../../../src-main/proc';
import { removeStaleTemps, tempNameFor, writeFileAtomic } from '../../../src-main/db/files';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The pid of a child process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sfumato-atomic-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('isPidAlive (one EPERM rule)', () => {
  it('is true for this process and false for one that exited', () => {
    expect(isPidAlive(process.pid)).toBe(true);
    expect(isPidAlive(deadPid())).toBe(false);
  });

  it('counts EPERM (the process exists, another user owns it) as alive, ESRCH as dead', () => {
    const fail = (code: string) => () => {
      throw Object.assign(new Error(code), { code });
    };
    expect(isPidAlive(12345, fail('EPERM'))).toBe(true);
    expect(isPidAlive(12345, fail('ESRCH'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('a process of another user sees pid 1 as alive (a real EPERM)', () => {
    const code = `import { isPidAlive } from './src-main/proc.ts'; let c = 'none'; try { process.kill(1, 0); } catch (e) { c = e.code; } console.log(c, isPidAlive(1));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: REPO, uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('EPERM true');
  });
});

describe('removeStaleTemps', () => {
  it('removes the temps of dead processes named either way, and keeps those of live ones', async () => {
    const dead = deadPid();
    const stale = [`.a.png.${dead}.0123abcd.tmp`, `.b.bin.${dead}.0123456789ab.tmp`, `.c.zip.${dead}.0123456789ab.sfumato-tmp`];
    const live = [`.d.png.${process.pid}.0123abcd.tmp`, tempNameFor('e.zip'), 'f.tmp', 'g.png'];
    for (const n of [...stale, ...live]) await writeFile(path.join(dir, n), 'x');
    expect((await removeStaleTemps(dir)).sort()).toEqual([...stale].sort());
    expect((await readdir(dir)).sort()).toEqual([...live].sort());
  });

  it('writeFileAtomic writes chunks in order and leaves no temp file', async () => {
    const file = path.join(dir, 'sub', 'out.bin');
    await writeFileAtomic(file, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(await readdir(path.dirname(file))).toEqual(['out.bin']);
    expect([...(await import('node:fs')).readFileSync(file)]).toEqual([1, 2, 3]);
  });
});
