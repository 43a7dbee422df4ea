/**
 * The SQLite connection: sqlite3 (N-API) wrapped in promises, WAL mode, foreign keys on,
 * numbered migrations applied at open. Only the main process (Electron main, web server or CLI)
 * writes the database; job processes report through messages, so a crashing job cannot corrupt it.
 */
import { dirname } from 'node:path';
import sqlite3 from 'sqlite3';
import { ApiError } from '../api/errors';
import { MIGRATIONS } from './migrations';

export type SqlValue = string | number | null | Buffer;

export interface DbOptions {
  /**
   * How long a statement that finds the database locked by another connection (SQLITE_BUSY /
   * SQLITE_LOCKED) keeps retrying, with backoff, before it fails. Default 45 s, or the
   * SFUMATO_DB_RETRY_MS environment variable.
   */
  retryMs?: number;
}

export const DEFAULT_DB_RETRY_MS = 45_000;
/** SQLite's own busy wait per attempt: short, so a locked database never holds a libuv thread long. */
const BUSY_TIMEOUT_MS = 250;
const MAX_BACKOFF_MS = 1_000;

const sqliteCode = (e: unknown): string | undefined => (e as { code?: unknown })?.code as string | undefined;

export function isBusyError(e: unknown): boolean {
  const c = sqliteCode(e);
  return c === 'SQLITE_BUSY' || c === 'SQLITE_LOCKED';
}

/** Errors that mean "no room to write": the disk is full, over quota or read-only. */
export function isNoSpaceError(e: unknown): boolean {
  const c = sqliteCode(e);
  return c === 'SQLITE_FULL' || c === 'ENOSPC' || c === 'EDQUOT' || c === 'EROFS' || c === 'SQLITE_READONLY';
}

/**
 * An error from SQLite (or the file system under it) about the library database `file`, turned
 * into an ApiError that names the file and says what to do: locked past the retry budget, full,
 * read-only, damaged or not a database, cannot be opened, a disk error. Errors that mean a bug in
 * Sfumato (SQLITE_ERROR, SQLITE_CONSTRAINT, …) and non-SQLite errors pass through unchanged.
 */
export function explainSqliteError(e: unknown, file: string, waitedMs = 0): unknown {
  if (e instanceof ApiError) return e;
  const code = sqliteCode(e);
  if (typeof code !== 'string') return e;
  const folder = dirname(file);
  const said = String((e as { message?: unknown }).message ?? '').replace(/^SQLITE_[A-Z_]+: /, '').split('\n')[0]!.trim();
  const why = said ? `${code}: ${said}` : code;
  const details = { sqlite: code, file };
  if (isBusyError(e)) {
    return new ApiError(
      'unavailable',
      `The library database ${file} stayed locked by another program for ${(waitedMs / 1000).toFixed(1)} s (${code}); nothing was recorded. Close other programs using the library folder ${folder} (another Sfumato, a database browser) and try again.`,
      details,
    );
  }
  if (code === 'SQLITE_READONLY' || code === 'EROFS' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new ApiError(
      'unavailable',
      `The library database ${file} cannot be written: it is read-only for Sfumato (${why}); nothing was changed. Make the file and the library folder ${folder} writable for your user (check their permissions, or whether the disk is mounted read-only), or choose another library folder, and try again.`,
      details,
    );
  }
  if (isNoSpaceError(e)) {
    return new ApiError(
      'unavailable',
      `The library database ${file} could not be written: the disk is full or over quota (${code}); the database is unchanged. Free space on the disk that holds the library folder ${folder} and try again.`,
      details,
    );
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new ApiError(
      'unavailable',
      `The library database ${file} is not a Sfumato database (or is damaged): ${why}. Sfumato left the file as it is. Restore it from a backup, or move it out of the library folder ${folder} to start an empty library there, or choose another library folder.`,
      details,
    );
  }
  if (code === 'SQLITE_CANTOPEN') {
    return new ApiError(
      'unavailable',
      `The library database ${file} could not be opened (${why}). Check that the library folder ${folder} exists and your user may write to it, and that sfumato.db in it is a regular file, then try again.`,
      details,
    );
  }
  if (code === 'SQLITE_IOERR' || code === 'SQLITE_NOMEM' || code === 'SQLITE_PROTOCOL' || code === 'SQLITE_NOLFS') {
    return new ApiError(
      'unavailable',
      `The library database ${file} could not be read or written (${why}); nothing was recorded. Check the disk that holds the library folder ${folder} (still connected? free space?) and try again.`,
      details,
    );
  }
  return e;
}

export function dbRetryMsFromEnv(): number | undefined {
  const v = process.env.SFUMATO_DB_RETRY_MS;
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export class Db {
  private constructor(
    private readonly raw: sqlite3.Database,
    readonly file: string,
    readonly retryMs: number,
  ) {}

  static async open(file: string, opts: DbOptions = {}): Promise<Db> {
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, (err) => (err ? reject(explainSqliteError(err, file)) : resolve(d)));
    });
    const db = new Db(raw, file, opts.retryMs ?? dbRetryMsFromEnv() ?? DEFAULT_DB_RETRY_MS);
    raw.configure('busyTimeout', BUSY_TIMEOUT_MS);
    try {
      // A file that is not a database (or is damaged) fails here, before anything is written to it.
      await db.exec('PRAGMA journal_mode = WAL');
      await db.exec('PRAGMA foreign_keys = ON');
      await db.exec('PRAGMA synchronous = NORMAL');
      await db.migrate();
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e;
    }
    return db;
  }

  /**
   * Runs `op`; while it fails with SQLITE_BUSY/SQLITE_LOCKED (another connection holds the write
   * lock), retries with backoff on timers (the event loop stays free) for up to `retryMs`. Then, and
   * for a full disk, it throws an ApiError that names the library folder and says what to do.
   */
  private async retrying<T>(op: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    let delay = 20;
    for (;;) {
      try {
        return await op();
      } catch (e) {
        if (isBusyError(e) && Date.now() - t0 < this.retryMs) {
          await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, this.retryMs - (Date.now() - t0)))));
          delay = Math.min(MAX_BACKOFF_MS, delay * 2);
          continue;
        }
        throw this.explain(e, Date.now() - t0);
      }
    }
  }

  /** A clear error for a locked, full, read-only or damaged database (see explainSqliteError). */
  private explain(e: unknown, waitedMs: number): unknown {
    return explainSqliteError(e, this.file, waitedMs);
  }

  run(sql: string, params: SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
    return this.retrying(() => this.runOnce(sql, params));
  }

  get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return this.retrying(() => this.getOnce<T>(sql, params));
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.retrying(() => this.allOnce<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.retrying(() => this.execOnce(sql));
  }

  private runOnce(sql: string, params: SqlValue[]): Promise<{ changes: number; lastID: number }> {
    return new Promise((resolve, reject) => {
      this.raw.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  private getOnce<T>(sql: string, params: SqlValue[]): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.raw.get(sql, params, (err: Error | null, row: T | undefined) => (err ? reject(err) : resolve(row)));
    });
  }

  private allOnce<T>(sql: string, params: SqlValue[]): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.raw.all(sql, params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)));
    });
  }

  private execOnce(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.raw.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Run `fn` inside BEGIN IMMEDIATE … COMMIT. Transactions are serialised on this connection
   * (sqlite3 shares one connection between all callers, so two interleaved BEGINs would fail).
   * A locked database is waited for at BEGIN IMMEDIATE (and COMMIT), by `exec`'s bounded retry.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      await this.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn();
        await this.exec('COMMIT');
        return out;
      } catch (e) {
        await this.exec('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async userVersion(): Promise<number> {
    const row = await this.get<{ user_version: number }>('PRAGMA user_version');
    return row?.user_version ?? 0;
  }

  async integrityCheck(): Promise<string> {
    const rows = await this.all<{ integrity_check: string }>('PRAGMA integrity_check');
    return rows.map((r) => r.integrity_check).join('; ');
  }

  /** Apply every migration newer than PRAGMA user_version, each in its own transaction. */
  private async migrate(): Promise<void> {
    const current = await this.userVersion();
    if (current > MIGRATIONS.length) {
      throw new ApiError(
        'unavailable',
        `The library database ${this.file} was written by a newer Sfumato (schema ${current}, this build knows ${MIGRATIONS.length}). Update Sfumato or choose another library folder.`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      await this.exec('BEGIN IMMEDIATE');
      try {
        await this.exec(MIGRATIONS[v]);
        await this.exec(`PRAGMA user_version = ${v + 1}`);
        await this.exec('COMMIT');
      } catch (e) {
        await this.exec('ROLLBACK').catch(() => undefined);
        if (e instanceof ApiError) throw e;
        throw new Error(`Migration ${v + 1} failed on ${this.file}: ${(e as Error).message}`);
      }
    }
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.raw.close((err) => (err ? reject(err) : resolve())));
  }
}
