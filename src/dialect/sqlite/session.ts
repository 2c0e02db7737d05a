import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { ToolError } from '../../errors.js';
import type { Session } from '../adapter.js';
import { BaseSession } from '../base-session.js';
import type { OrderedScan, Trace, TransactionMode } from '../types.js';
import { describeSqliteError } from './errors.js';
import { sqliteSql } from './sql.js';

const HEADER = 'SQLite format 3\0';

/**
 * How long one statement waits for a busy file inside SQLite. better-sqlite3 waits synchronously,
 * so the event loop (and with it SIGINT) is held for that long: longer waits are made of such
 * slices, with the event loop running between them (see `whenFree`).
 */
const BUSY_SLICE_MS = 50;

/** Checks that a path is an existing SQLite file before anything opens (and so creates) it. */
function checkDatabaseFile(file: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new ToolError(`database file not found: ${file} (nothing was created; check the database URL)`);
  }
  if (stat.isDirectory()) throw new ToolError(`${file} is a directory, not a SQLite database file`);
  if (stat.size === 0) throw new ToolError(`${file} is an empty file, not a genai-factory database`);
  const buf = Buffer.alloc(HEADER.length);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, buf, 0, buf.length, 0);
  } catch (e) {
    throw new ToolError(`cannot read ${file}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (buf.toString('latin1') !== HEADER) throw new ToolError(`${file} is not a SQLite database file`);
}

/**
 * One SQLite file through better-sqlite3, locked whole by `BEGIN IMMEDIATE`: that write lock is
 * also the run lock, so there is no `lockRun`.
 */
export class SqliteSession extends BaseSession implements Session {
  /** Ordered scans reading the file on threads of their own: stopped with the run. */
  readonly scans = new Set<OrderedScan>();

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
    trace: Trace | undefined,
    /** How long a statement waits for a busy file in all (--lock-timeout). */
    readonly busyTimeoutMs: number,
  ) {
    super(sqliteSql(), trace);
  }

  /** Opens an existing database file; read-only mode is enforced by SQLite itself. */
  static async open(
    file: string,
    options: { readOnly: boolean; busyTimeoutMs: number; trace?: Trace },
  ): Promise<SqliteSession> {
    checkDatabaseFile(file);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: options.readOnly, fileMustExist: true, timeout: BUSY_SLICE_MS });
      const session = new SqliteSession(db, file, options.trace, Math.max(1, options.busyTimeoutMs));
      await session.whenFree(() => db!.prepare('SELECT count(*) FROM sqlite_master').get());
      // better-sqlite3 turns foreign keys on; the controller's SQLAlchemy connections leave them off.
      db.pragma('foreign_keys = OFF');
      return session;
    } catch (e) {
      if (db?.open) db.close();
      throw new ToolError(`cannot open ${file}: ${describeSqliteError(e) ?? (e as Error).message}`);
    }
  }

  /**
   * Runs `fn`, again while the file is busy, for up to --lock-timeout in all. Between tries the
   * event loop runs, so a signal is answered at once: its abort closes the file, and the next
   * try fails for that.
   */
  private async whenFree<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (;;) {
      try {
        return fn();
      } catch (e) {
        if (!this.isLockTimeout(e) || Date.now() >= deadline) throw e;
      }
      await sleep(10);
    }
  }

  /** Prepares a statement, noting it as sent. */
  statement(sql: string): Database.Statement {
    this.trace(sql);
    return this.db.prepare(sql);
  }

  /** Runs a write, for the rows it changed. */
  changes(sql: string, ...bindings: unknown[]): number {
    return this.statement(sql).run(...bindings).changes;
  }

  /** Runs SQL without bindings or results (DDL, transaction control). */
  exec(sql: string): void {
    this.trace(sql);
    this.db.exec(sql);
  }

  async runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]> {
    this.trace(sql);
    return this.whenFree(
      () =>
        this.db
          .prepare(sql)
          .raw(true)
          .all(...bindings) as unknown[][],
    );
  }

  async runNative<T>(sql: string, bindings: unknown[]): Promise<T[]> {
    this.trace(sql);
    return this.whenFree(() => {
      // Preparing reads the schema, which a busy file can refuse too.
      const statement = this.db.prepare(sql);
      if (statement.reader) return statement.all(...bindings) as T[];
      statement.run(...bindings);
      return [];
    });
  }

  isLockTimeout(error: unknown): boolean {
    return (error as { code?: string })?.code === 'SQLITE_BUSY';
  }

  describeError(error: unknown): string | undefined {
    return describeSqliteError(error);
  }

  abort(): void {
    for (const scan of this.scans) void scan.close();
    try {
      if (this.db.open) this.db.close(); // an open transaction is rolled back (its journal undone)
    } catch {
      // a statement is mid-step: the process exits next, and SQLite rolls the journal back on open
    }
  }

  async begin(mode: TransactionMode): Promise<void> {
    // BEGIN IMMEDIATE is where a writing run waits for the file (its run lock).
    const sql = mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN';
    this.trace(sql);
    await this.whenFree(() => this.db.exec(sql));
  }

  async commit(): Promise<void> {
    // A COMMIT refused as busy (readers still on the file) leaves the transaction open: try again.
    this.trace('COMMIT');
    await this.whenFree(() => this.db.exec('COMMIT'));
    this.committed = true;
  }

  async rollback(): Promise<void> {
    if (this.db.inTransaction) this.exec('ROLLBACK');
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    await this.sql.destroy();
  }
}
