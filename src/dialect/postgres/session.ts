import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Session } from '../adapter.js';
import { BaseSession } from '../base-session.js';
import { knexSql } from '../knex-sql.js';
import type { ServerConnection, Trace, TransactionMode } from '../types.js';
import { describePostgresError, SQLSTATE } from './errors.js';

/** The first key of the tool's advisory locks; the second is a hash of schema and table. */
export const ADVISORY_CLASS = 0x57ec;
/** The protocol's code of a CancelRequest. */
const CANCEL_REQUEST_CODE = 80877102;
/** How long an aborted run waits for its cancel request to be taken (it exits within two seconds). */
const CANCEL_WAIT_MS = 1_000;

/** One PostgreSQL connection through pg: transactional DDL, row locks, an advisory lock per run. */
export class PostgresSession extends BaseSession implements Session {
  private lostConnection: Error | undefined;
  /** The statements sent so far, finished or not (see `send`). */
  private queue: Promise<void> = Promise.resolve();
  /** The cancel request of an aborted run, under way (see `abort`). */
  private cancelling: Promise<void> | undefined;

  private constructor(
    private readonly client: pg.Client,
    trace: Trace | undefined,
  ) {
    super(knexSql('pg', {}), trace);
    // A server that ends the session sends its reason (a FATAL error with a SQLSTATE), then the
    // socket closes with a second error that says only that: the reason is kept.
    client.on('error', (e) => {
      if (!SQLSTATE.test((this.lostConnection as { code?: string } | undefined)?.code ?? '')) this.lostConnection = e;
    });
  }

  static async open(target: ServerConnection, trace?: Trace): Promise<PostgresSession> {
    const sslmode = target.params.sslmode;
    const client = new pg.Client({
      host: target.host,
      port: target.port ?? 5432,
      user: target.user,
      password: target.password,
      database: target.database,
      connectionTimeoutMillis: target.connectTimeoutMs,
      application_name: target.label.slice(0, 63),
      ssl:
        sslmode === undefined || sslmode === 'disable' || sslmode === 'prefer' || sslmode === 'allow'
          ? undefined
          : { rejectUnauthorized: sslmode !== 'require' },
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const session = new PostgresSession(client, trace);
      // JIT compiling can cost far more than the index lookups it compiles, when a table without
      // statistics makes the estimates high. (Before PostgreSQL 11 there is no jit.)
      await session.runNative('SET jit = off', []).catch(() => undefined);
      // `created` is read as text and ordered as an ISO timestamp: a database set to another
      // DateStyle ('SQL, DMY' gives 20/01/2025) would have its items ordered by day of month.
      await session.runNative("SET DateStyle = 'ISO, YMD'", []);
      return session;
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  /** Whether the connection is gone (a server's FATAL error, a lost socket, an abort). */
  get lost(): boolean {
    return this.lostConnection !== undefined;
  }

  /**
   * Sends one statement after the ones already sent have finished: pg runs a connection's
   * queries one at a time, and the scan asks for the next batch while it plans this one.
   */
  private send(config: pg.QueryConfig | pg.QueryArrayConfig): Promise<pg.QueryResult> {
    const run = this.queue.then(() => {
      if (this.lostConnection) throw this.lostConnection;
      this.trace(config.text);
      return this.client.query(config as pg.QueryConfig);
    });
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]> {
    const result = await this.send({ text: sql, values: bindings, rowMode: 'array' });
    return result.rows as unknown[][];
  }

  async runNative<T>(sql: string, bindings: unknown[]): Promise<T[]> {
    const result = await this.send({ text: sql, values: bindings });
    return result.rows as T[];
  }

  /** Runs a statement for the rows it touched, from its command tag: no row comes back to count. */
  async rowCount(template: string, bindings: readonly unknown[]): Promise<number | null> {
    const compiled = this.compile(template, bindings);
    return (await this.send({ text: compiled.sql, values: compiled.bindings })).rowCount;
  }

  /** Like {@link rowCount}, for SQL already in the driver's own form (`$1` placeholders). */
  async rowCountNative(sql: string, values: unknown[]): Promise<number | null> {
    return (await this.send({ text: sql, values })).rowCount;
  }

  async lockRun(key: string, timeoutMs: number): Promise<void> {
    // lock_timeout bounds every lock wait of the session: this one, and row locks later on.
    await this.runNative(`SET lock_timeout = ${Math.max(1, Math.round(timeoutMs))}`, []);
    await this.query('SELECT pg_advisory_lock(?, hashtext(?))', [ADVISORY_CLASS, key]);
  }

  async lockHolder(key: string): Promise<string | undefined> {
    const [row] = await this.query<{ app: string; addr: string | null; since: string }>(
      `SELECT a.application_name AS app, CAST(a.client_addr AS TEXT) AS addr, CAST(a.backend_start AS TEXT) AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = CAST(hashtext(?) AS oid)`,
      [ADVISORY_CLASS, key],
    );
    return row
      ? `${row.app || 'a session'} from ${row.addr ?? 'a local socket'}, connected at ${row.since}`
      : undefined;
  }

  isLockTimeout(error: unknown): boolean {
    return (error as { code?: string })?.code === '55P03';
  }

  describeError(error: unknown): string | undefined {
    // The server's reason for ending the session (its FATAL error) says more than the lost
    // connection that a statement in flight then reports.
    const reason = this.lostConnection as { code?: string } | undefined;
    if (reason && reason !== error && SQLSTATE.test(reason.code ?? '')) return describePostgresError(reason);
    return describePostgresError(error);
  }

  /**
   * Drops the connection. A backend that waits for a lock does not notice its client gone until
   * the wait ends (up to --lock-timeout), holding the run lock and its row locks meanwhile: a
   * cancel request (the protocol's own, as psql's Ctrl-C sends) ends the wait at once.
   */
  abort(): void {
    this.lostConnection ??= new Error('aborted');
    this.cancelling ??= this.cancelInFlight();
    void this.client.end().catch(() => undefined);
  }

  private cancelInFlight(): Promise<void> {
    const c = this.client as unknown as { processID: number | null; secretKey: number | null };
    const { host, port } = this.client;
    if (c.processID === null || c.secretKey === null) return Promise.resolve();
    const packet = Buffer.alloc(16);
    [16, CANCEL_REQUEST_CODE, c.processID, c.secretKey].forEach((n, i) => packet.writeInt32BE(n, i * 4));
    return new Promise((resolve) => {
      const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
      const done = () => (socket.destroy(), resolve());
      socket.setTimeout(CANCEL_WAIT_MS, done);
      socket.on('error', done).on('close', done);
      socket.on('connect', () => socket.end(packet));
    });
  }

  async begin(mode: TransactionMode): Promise<void> {
    // Both levels are named, whatever default_transaction_isolation says: a read-only pass sees one
    // snapshot; a writing run needs READ COMMITTED, where a statement after a lock sees the rows
    // committed before it (the drop's guard count) and a row changed by the controller is waited
    // for, not refused with a serialization failure.
    await this.runNative(
      mode === 'read'
        ? 'START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY'
        : 'START TRANSACTION ISOLATION LEVEL READ COMMITTED',
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
    if (this.cancelling) await Promise.race([this.cancelling, sleep(CANCEL_WAIT_MS, undefined, { ref: false })]);
    await this.client.end().catch(() => undefined);
    await this.sql.destroy();
  }
}
