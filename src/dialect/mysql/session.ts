import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Session } from '../adapter.js';
import { BaseSession } from '../base-session.js';
import { knexSql } from '../knex-sql.js';
import type { ServerConnection, Trace, TransactionMode } from '../types.js';
import { describeMysqlError } from './errors.js';

/** Another session held the run lock past `--lock-timeout` (GET_LOCK gave up). */
export class LockTimeout extends Error {
  constructor() {
    super('lock timeout');
  }
}

/** How long an aborted run waits for the server to end its thread (it exits within two seconds). */
const KILL_WAIT_MS = 1_000;
/** The server's answer to `SET` of a variable it does not have. */
const UNKNOWN_VARIABLE = 1193;

/** The GET_LOCK name of a run lock key: server-wide names are at most 64 characters. */
export function lockName(key: string): string {
  return key.length <= 64 ? key : `stepcfg-migrate:${createHash('sha1').update(key).digest('hex')}`;
}

/** One MySQL or MariaDB connection through mysql2; DDL commits implicitly, so DDL stays outside transactions. */
export class MysqlSession extends BaseSession implements Session {
  private lostConnection: Error | undefined;
  /**
   * The rejections of the statements in flight, called by `abort`: mysql2 leaves a statement in
   * flight pending when its connection is destroyed. One per statement, removed when it settles
   * (a race against one long-lived promise would keep every result alive until the run ends).
   */
  private readonly inFlight = new Set<(e: Error) => void>();
  /** Set by `abort`: every statement after it fails with this at once. */
  private abortedWith: Error | undefined;

  /** The KILL of the aborted session's thread, under way (see `abort`). */
  private killing: Promise<void> | undefined;

  private constructor(
    private readonly connection: mysql.Connection,
    trace: Trace | undefined,
    /** How to open a second connection, to end this one's thread on the server (see `abort`). */
    private readonly options: mysql.ConnectionOptions,
  ) {
    super(knexSql('mysql2', {}), trace);
    connection.on('error', (e: Error) => (this.lostConnection = e));
  }

  /** A statement's result, or the abort's error as soon as the run is aborted (a lock wait ends there). */
  private settled<T>(statement: Promise<T>): Promise<T> {
    statement.catch(() => undefined); // its late failure, once the connection is destroyed, is no news
    return new Promise<T>((resolve, reject) => {
      if (this.abortedWith) reject(this.abortedWith);
      this.inFlight.add(reject);
      statement.then(resolve, reject).finally(() => this.inFlight.delete(reject));
    });
  }

  static async open(target: ServerConnection, trace?: Trace): Promise<MysqlSession> {
    const options: mysql.ConnectionOptions = {
      ...(target.host.startsWith('/') ? { socketPath: target.host } : { host: target.host, port: target.port ?? 3306 }),
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4',
      connectTimeout: target.connectTimeoutMs,
      dateStrings: true,
      jsonStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      multipleStatements: false,
    };
    const connection = await mysql.createConnection(options);
    const session = new MysqlSession(connection, trace, options);
    try {
      await session.setUp();
    } catch (e) {
      await connection.end().catch(() => undefined);
      throw e;
    }
    return session;
  }

  /** The session settings the tool's statements rely on, whatever the server's defaults. */
  private async setUp(): Promise<void> {
    // The driver puts values into SQL text escaped with backslashes: under NO_BACKSLASH_ESCAPES
    // the server would keep those backslashes, and every `"` of a JSON text would come out as `\"`.
    await this.runNative(
      "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))",
      [],
    );
    // The runs are built on InnoDB's consistent snapshot, whatever transaction_isolation the server
    // sets, and on autocommit outside their transactions: with autocommit off, the record of a
    // drop done after the fold's commit was never committed (the run stayed "folded").
    await this.runNative('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ', []);
    await this.runNative('SET SESSION autocommit = 1', []);
    // A statement must fit in max_allowed_packet (4 MB on MySQL 5.7, often set lower): a
    // quarter of it in characters leaves room for UTF-8 (up to 3 bytes a character) and the
    // driver's escaping.
    const [packet] = await this.runNative<{ p: number | string }>('SELECT @@SESSION.max_allowed_packet AS p', []);
    this.statementChars = Math.max(16 << 10, Math.min(4 << 20, Math.floor(Number(packet?.p ?? 0) / 4)));
  }

  /** Whether the connection is gone (an error of the connection's own, or an abort). */
  get lost(): boolean {
    return this.lostConnection !== undefined;
  }

  /** Throws the error that ended the connection, if it has ended; otherwise notes `sql` as sent. */
  private sending(sql: string): void {
    if (this.lostConnection) throw this.lostConnection;
    this.trace(sql);
  }

  async runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]> {
    this.sending(sql);
    const [rows] = await this.settled(this.connection.query({ sql, rowsAsArray: true }, bindings));
    return (Array.isArray(rows) ? rows : []) as unknown[][];
  }

  async runNative<T>(sql: string, bindings: unknown[]): Promise<T[]> {
    this.sending(sql);
    const [rows] = await this.settled(this.connection.query(sql, bindings));
    return (Array.isArray(rows) ? rows : []) as T[];
  }

  /** Runs a write for what the server says of it: rows affected, and its info text ("Rows matched: …"). */
  async write(template: string, bindings: readonly unknown[] = []): Promise<mysql.ResultSetHeader> {
    const compiled = this.compile(template, bindings);
    this.sending(compiled.sql);
    const [result] = await this.settled(this.connection.query(compiled.sql, compiled.bindings));
    return result as mysql.ResultSetHeader;
  }

  /** Runs a prepared statement: the values travel as they are (binary protocol), unescaped into SQL text. */
  async execute(sql: string, values: unknown[]): Promise<void> {
    this.sending(sql);
    await this.settled(this.connection.execute(sql, values as string[]));
  }

  async lockRun(key: string, timeoutMs: number): Promise<void> {
    const [row] = await this.query<{ got: number | null }>('SELECT GET_LOCK(?, ?) AS got', [
      lockName(key),
      Math.max(1, Math.ceil(timeoutMs / 1000)),
    ]);
    if (Number(row?.got) !== 1) throw new LockTimeout();
    // Row locks and metadata locks (LOCK TABLES, RENAME) wait no longer than --lock-timeout either.
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    await this.query('SET SESSION innodb_lock_wait_timeout = ?, SESSION lock_wait_timeout = ?', [seconds, seconds]);
  }

  async lockHolder(key: string): Promise<string | undefined> {
    const [row] = await this.query<{ host: string | null; time: number | null }>(
      'SELECT p.HOST AS host, p.TIME AS time FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)',
      [lockName(key)],
    );
    return row ? `a connection from ${row.host}, connected ${row.time}s ago` : undefined;
  }

  /** MariaDB's max_statement_time limits every statement, MySQL's max_execution_time its SELECTs. */
  async liftTimeLimits(): Promise<void> {
    for (const variable of ['max_statement_time', 'max_execution_time']) {
      // The limit may stop even this statement on a loaded server; each server refuses the
      // other one's name (ER_UNKNOWN_SYSTEM_VARIABLE).
      for (let tries = 0; tries < 3; tries++) {
        const refused = await this.runNative(`SET SESSION ${variable} = 0`, []).then(
          () => undefined,
          (e: { errno?: number }) => e,
        );
        if (!refused || refused.errno === UNKNOWN_VARIABLE) break;
      }
    }
  }

  isLockTimeout(error: unknown): boolean {
    return error instanceof LockTimeout || (error as { code?: string })?.code === 'ER_LOCK_WAIT_TIMEOUT';
  }

  describeError(error: unknown): string | undefined {
    return describeMysqlError(error);
  }

  /**
   * Drops the connection. A server thread that waits for a lock does not notice its client gone
   * until the wait ends (up to --lock-timeout), holding the run lock and its row locks meanwhile:
   * a second connection ends the thread at once, which rolls its transaction back.
   */
  abort(): void {
    this.lostConnection ??= new Error('aborted');
    this.abortedWith = this.lostConnection;
    for (const reject of this.inFlight) reject(this.lostConnection);
    const thread = this.connection.threadId;
    this.connection.destroy();
    this.killing ??= this.killThread(thread);
  }

  private async killThread(thread: number): Promise<void> {
    const other = await mysql
      .createConnection({ ...this.options, connectTimeout: KILL_WAIT_MS })
      .catch(() => undefined);
    if (!other) return;
    await other.query('KILL CONNECTION ?', [thread]).catch(() => undefined);
    await other.end().catch(() => other.destroy());
  }

  async begin(mode: TransactionMode): Promise<void> {
    await this.runNative(
      mode === 'read' ? 'START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT' : 'START TRANSACTION',
      [],
    );
  }

  async commit(): Promise<void> {
    await this.runNative('COMMIT', []);
    this.committed = true;
  }

  async rollback(): Promise<void> {
    if (!this.lostConnection) await this.runNative('ROLLBACK', []);
  }

  async close(): Promise<void> {
    if (this.killing) await Promise.race([this.killing, sleep(KILL_WAIT_MS, undefined, { ref: false })]);
    await this.connection.end().catch(() => this.connection.destroy());
    await this.sql.destroy();
  }
}
