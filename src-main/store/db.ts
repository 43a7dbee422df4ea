/**
 * The SQLite connection: sqlite3 (N-API) wrapped in promises, WAL mode, foreign keys on,
 * numbered migrations applied at open. Only the main process (Electron main, web server or CLI)
 * writes the database; job processes report through messages, so a crashing job cannot corrupt it.
 */
import sqlite3 from 'sqlite3';
import { MIGRATIONS } from './migrations';

export type SqlValue = string | number | null | Buffer;

export class Db {
  private constructor(
    private readonly raw: sqlite3.Database,
    readonly file: string,
  ) {}

  static async open(file: string): Promise<Db> {
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
    });
    const db = new Db(raw, file);
    raw.configure('busyTimeout', 5000);
    await db.exec('PRAGMA journal_mode = WAL');
    await db.exec('PRAGMA foreign_keys = ON');
    await db.exec('PRAGMA synchronous = NORMAL');
    await db.migrate();
    return db;
  }

  run(sql: string, params: SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
    return new Promise((resolve, reject) => {
      this.raw.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.raw.get(sql, params, (err: Error | null, row: T | undefined) => (err ? reject(err) : resolve(row)));
    });
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.raw.all(sql, params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)));
    });
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.raw.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Run `fn` inside BEGIN IMMEDIATE … COMMIT. Transactions are serialised on this connection
   * (sqlite3 shares one connection between all callers, so two interleaved BEGINs would fail).
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
      throw new Error(
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
        throw new Error(`Migration ${v + 1} failed on ${this.file}: ${(e as Error).message}`);
      }
    }
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.raw.close((err) => (err ? reject(err) : resolve())));
  }
}
