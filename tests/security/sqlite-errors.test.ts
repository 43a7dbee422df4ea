/**
 * Issue 11 leftovers, item 5: every error that reaches a user from SQLite names the library
 * database and says what to do, whichever way it comes (CLI, service, web/IPC envelope). Real
 * files: garbage in sfumato.db (SQLITE_NOTADB), a database with damaged pages (SQLITE_CORRUPT),
 * a read-only copy (SQLITE_READONLY; when the tests run as root the CLI runs as `nobody`, since
 * root writes through file modes), and a folder where sfumato.db should be (SQLITE_CANTOPEN).
 * A damaged database is never overwritten.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, HTTP_STATUS } from '../../src-main/api/errors';
import { Sfumato } from '../../src-main/services/sfumato';
import { CLI, tempDir } from '../helpers/library';

const dirs: ReturnType<typeof tempDir>[] = [];
function library(): string {
  const d = tempDir('sfumato-sqlite-');
  dirs.push(d);
  return d.dir;
}
afterAll(() => {
  for (const d of dirs) {
    try {
      chmodSync(d.dir, 0o755);
    } catch {
      // already gone
    }
    d.cleanup();
  }
});

interface CliResult {
  code: number;
  out: string;
  err: string;
}

function sfumato(dir: string, args: string[], as?: { uid: number; gid: number }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--data-dir', dir, ...args],
      { env: { ...process.env, HOME: dir, SFUMATO_DB_RETRY_MS: '300' }, maxBuffer: 1 << 24, ...(as ?? {}) },
      (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? -1) : 0, out, err }),
    );
  });
}

/** The error line is the one line on stderr, says what to do, and is not a stack trace. */
function expectOneClearLine(r: CliResult): string {
  expect(r.code).toBe(1);
  const lines = r.err.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(r.err).not.toMatch(/^\s+at /m);
  expect(r.err).not.toMatch(/bug in Sfumato/);
  return lines[0]!;
}

/** A real, empty library database made by Sfumato itself. */
async function realDatabase(dir: string): Promise<string> {
  const s = await Sfumato.open({ libraryPath: dir, mode: 'cli' });
  await s.close();
  return join(dir, 'sfumato.db');
}

const esc = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a library whose sfumato.db is not a database', () => {
  it('CLI: exits 1 with one line that names sfumato.db and says what to do, and leaves the file alone', async () => {
    const dir = library();
    const garbage = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 37 + 11) & 255));
    writeFileSync(join(dir, 'sfumato.db'), garbage);
    const r = await sfumato(dir, ['datasets', 'list']);
    const line = expectOneClearLine(r);
    expect(line).toMatch(new RegExp(`^sfumato: The library database ${esc(join(dir, 'sfumato.db'))} is not a Sfumato database \\(or is damaged\\): SQLITE_NOTADB: file is not a database\\. Sfumato left the file as it is\\. Restore it from a backup`));
    expect(readFileSync(join(dir, 'sfumato.db')).equals(garbage)).toBe(true);

    const j = await sfumato(dir, ['--json', 'runs', 'list']);
    expect(j.code).toBe(1);
    const obj = JSON.parse(j.out.trim()) as { error: { code: string; message: string; details: { sqlite: string } } };
    expect(obj.error.code).toBe('unavailable');
    expect(obj.error.details.sqlite).toBe('SQLITE_NOTADB');
    expect(obj.error.message).toMatch(/sfumato\.db is not a Sfumato database/);
    expect(readFileSync(join(dir, 'sfumato.db')).equals(garbage)).toBe(true);
  }, 60_000);

  it('service: Sfumato.open rejects with an `unavailable` ApiError, which every transport can map', async () => {
    const dir = library();
    writeFileSync(join(dir, 'sfumato.db'), 'this is not a database, it is a shopping list\n'.repeat(200));
    const err = await Sfumato.open({ libraryPath: dir, mode: 'web' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('unavailable');
    expect((err as ApiError).message).toContain(`${join(dir, 'sfumato.db')} is not a Sfumato database`);
    expect(HTTP_STATUS[ApiError.from(err).code]).toBe(503);
  });
});

describe('a damaged library database (valid header, garbage pages)', () => {
  it('CLI: exits 1 naming the file as damaged (SQLITE_CORRUPT), and does not overwrite it', async () => {
    const dir = library();
    const file = await realDatabase(dir);
    const bytes = readFileSync(file);
    const page = bytes.readUInt16BE(16);
    for (let i = page; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 255;
    writeFileSync(file, bytes);
    const r = await sfumato(dir, ['runs', 'list']);
    const line = expectOneClearLine(r);
    expect(line).toMatch(new RegExp(`The library database ${esc(file)} is not a Sfumato database \\(or is damaged\\): SQLITE_CORRUPT: .*move it out of the library folder ${esc(dir)}`));
    expect(readFileSync(file).equals(bytes)).toBe(true);
  }, 60_000);
});

describe('a read-only library database', () => {
  it('CLI: exits 1 saying the database is read-only and what to make writable (not "disk full")', async () => {
    const src = library();
    const file = await realDatabase(src);
    const dir = library();
    chmodSync(dir, 0o755);
    for (const d of ['datasets', 'runs', 'samples', 'tmp']) mkdirSync(join(dir, d));
    copyFileSync(file, join(dir, 'sfumato.db'));
    chmodSync(join(dir, 'sfumato.db'), 0o444);
    chmodSync(dir, 0o555);
    // root writes through file modes: run the CLI as an ordinary user then.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const before = readFileSync(join(dir, 'sfumato.db'));
    const r = await sfumato(dir, ['datasets', 'list'], as);
    const line = expectOneClearLine(r);
    expect(line).toMatch(new RegExp(`The library database ${esc(join(dir, 'sfumato.db'))} cannot be written: it is read-only for Sfumato \\(SQLITE_READONLY.*\\); nothing was changed\\. Make the file and the library folder ${esc(dir)} writable`));
    expect(line).not.toMatch(/disk is full/);
    expect(readFileSync(join(dir, 'sfumato.db')).equals(before)).toBe(true);
  }, 60_000);
});

describe('a library database that cannot be opened', () => {
  it('CLI: a folder in place of sfumato.db gives SQLITE_CANTOPEN with the path and what to check', async () => {
    const dir = library();
    mkdirSync(join(dir, 'sfumato.db'));
    const r = await sfumato(dir, ['gallery', 'list']);
    const line = expectOneClearLine(r);
    expect(line).toMatch(new RegExp(`The library database ${esc(join(dir, 'sfumato.db'))} could not be opened \\(SQLITE_CANTOPEN.*\\)\\. Check that the library folder ${esc(dir)} exists`));
  }, 60_000);
});

describe('ApiError.from with a raw SQLite error', () => {
  it('never yields a code outside the contract (web mode maps every code to an HTTP status)', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_CORRUPT', 'SQLITE_READONLY', 'ENOENT']) {
      const raw = Object.assign(new Error(`${code}: something`), { code });
      const e = ApiError.from(raw);
      expect(e.code).toBe('internal');
      expect(HTTP_STATUS[e.code]).toBe(500);
      expect(e.details).toEqual({ code });
      expect(e.message).toContain(code);
      if (code.startsWith('SQLITE_')) expect(e.message).toMatch(/^The library database reported an error \(SQLITE_\w+: something\)\. Check /);
    }
    // The contract's own shapes still pass through as they are.
    expect(ApiError.from({ code: 'not_found', message: 'no run run_x' }).code).toBe('not_found');
  });
});
