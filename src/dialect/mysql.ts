import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { ToolError } from '../errors.js';
import {
  BaseAdapter,
  chunks,
  LockTimeout,
  qualified,
  sqlBuilder,
  type ColumnInfo,
  type DialectAdapter,
  type ForeignKeyRef,
  type KeptTable,
  type SpecWrite,
  type StagedSpec,
  type StageTarget,
  STAGE_TABLE,
  type TableRef,
  type TransactionMode,
} from './adapter.js';
import type { ServerConnection } from './postgres.js';

/** MariaDB stores JSON as LONGTEXT with a JSON_VALID check; MySQL has a native type. */
const JSON_TYPES = ['json', 'longtext', 'mediumtext', 'text', 'varchar'];
const ROWS_PER_UPDATE = 1000;

/** MySQL and MariaDB through mysql2: DDL commits implicitly, so DDL stays outside transactions. */
export class MysqlAdapter extends BaseAdapter implements DialectAdapter {
  readonly dialect = 'mysql' as const;
  readonly transactionalDdl = false;
  readonly readAhead = 2;
  readonly rowLocks = true;
  readonly hasSchemas = true;
  readonly lockRunIsSeparate = true;
  readonly stableWrites = true;
  private lostConnection: Error | undefined;

  private constructor(private readonly connection: mysql.Connection) {
    super(sqlBuilder('mysql2', {}));
    connection.on('error', (e: Error) => (this.lostConnection = e));
  }

  static async open(target: ServerConnection): Promise<MysqlAdapter> {
    const connection = await mysql.createConnection({
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
    });
    const adapter = new MysqlAdapter(connection);
    try {
      // The driver puts values into SQL text escaped with backslashes: under NO_BACKSLASH_ESCAPES
      // the server would keep those backslashes, and every `"` of a JSON text would come out as `\"`.
      await adapter.runNative(
        "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))",
        [],
      );
      // The runs are built on InnoDB's consistent snapshot, whatever transaction_isolation the server
      // sets, and on autocommit outside their transactions: with autocommit off, the record of a
      // drop done after the fold's commit was never committed (the run stayed "folded").
      await adapter.runNative('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ', []);
      await adapter.runNative('SET SESSION autocommit = 1', []);
      // A statement must fit in max_allowed_packet (4 MB on MySQL 5.7, often set lower): a
      // quarter of it in characters leaves room for UTF-8 (up to 3 bytes a character) and the
      // driver's escaping.
      const [packet] = await adapter.runNative<{ p: number | string }>('SELECT @@SESSION.max_allowed_packet AS p', []);
      adapter.statementChars = Math.max(16 << 10, Math.min(4 << 20, Math.floor(Number(packet?.p ?? 0) / 4)));
    } catch (e) {
      await connection.end().catch(() => undefined);
      throw e;
    }
    return adapter;
  }

  protected async runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]> {
    if (this.lostConnection) throw this.lostConnection;
    this.trace(sql);
    const [rows] = await this.connection.query({ sql, rowsAsArray: true }, bindings);
    return (Array.isArray(rows) ? rows : []) as unknown[][];
  }

  protected async runNative<T>(sql: string, bindings: unknown[]): Promise<T[]> {
    if (this.lostConnection) throw this.lostConnection;
    this.trace(sql);
    const [rows] = await this.connection.query(sql, bindings);
    return (Array.isArray(rows) ? rows : []) as T[];
  }

  async lockRun(key: string, timeoutMs: number): Promise<void> {
    const name = key.length <= 64 ? key : `stepcfg-migrate:${createHash('sha1').update(key).digest('hex')}`;
    const [row] = await this.query<{ got: number | null }>('SELECT GET_LOCK(?, ?) AS got', [
      name,
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
      [key.length <= 64 ? key : `stepcfg-migrate:${createHash('sha1').update(key).digest('hex')}`],
    );
    return row ? `a connection from ${row.host}, connected ${row.time}s ago` : undefined;
  }

  isLockTimeout(error: unknown): boolean {
    return error instanceof LockTimeout || (error as { code?: string })?.code === 'ER_LOCK_WAIT_TIMEOUT';
  }

  abort(): void {
    this.lostConnection ??= new Error('aborted');
    this.connection.destroy();
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
    await this.connection.end().catch(() => this.connection.destroy());
    await this.knex.destroy();
  }

  async columns(ref: TableRef): Promise<ColumnInfo[] | null> {
    const rows = await this.query<{ name: string; type: string }>(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [ref.schema ?? (await this.defaultSchema()), ref.table],
    );
    return rows.length === 0 ? null : rows.map((r) => ({ name: r.name, type: String(r.type).toLowerCase() }));
  }

  isJsonCapable(type: string): boolean {
    return JSON_TYPES.includes(type);
  }

  asText(column: string): string {
    return this.quote(column); // dateStrings and jsonStrings make the driver hand over the text
  }

  keepsJsonText(type: string): boolean {
    return type !== 'json'; // MariaDB's JSON is LONGTEXT; MySQL's JSON is stored binary and re-serialised
  }

  asJsonText(column: string): string {
    return this.asText(column);
  }

  async defaultSchema(): Promise<string | undefined> {
    const [row] = await this.query<{ s: string | null }>('SELECT DATABASE() AS s');
    if (!row?.s) throw new ToolError('the database URL names no database (mysql://user@host/DATABASE)');
    return row.s;
  }

  /** The server's version text, and whether it is MariaDB. */
  private async server(): Promise<{ version: string; mariadb: boolean }> {
    const [row] = await this.query<{ v: string }>('SELECT VERSION() AS v');
    const version = row?.v ?? '';
    return { version, mariadb: /mariadb/i.test(version) };
  }

  async notes(): Promise<string[]> {
    const { version, mariadb } = await this.server();
    return [
      `${mariadb ? 'MariaDB' : 'MySQL'} ${version}`,
      'DDL commits implicitly here: the tool creates its own table before the fold transaction',
    ];
  }

  async writeProblems(): Promise<string[]> {
    const [row] = await this.query<{ ro: number | string }>('SELECT @@read_only AS ro');
    return Number(row?.ro) === 1 ? ['the server is read-only (read_only=ON)'] : [];
  }

  async openStage(workflow: TableRef, hasVersion: boolean): Promise<void> {
    // TEMPORARY tables neither commit the transaction nor show to other sessions. Their key
    // columns are made by CREATE … SELECT, so they carry the workflow table's own types and collations.
    await this.runNative(`DROP TEMPORARY TABLE IF EXISTS ${STAGE_TABLE}`, []);
    const create = (engine: string) =>
      this.query(
        `CREATE TEMPORARY TABLE ${STAGE_TABLE} (spec LONGTEXT, hash VARCHAR(64)) ENGINE=${engine}
         SELECT uid, ${hasVersion ? 'version' : "'' AS version"} FROM ?? WHERE 1 = 0`,
        [qualified(workflow)],
      );
    // On MariaDB, MyISAM where the server has it: the staged specs (about 200 MB at a million step
    // rows) then stay out of InnoDB's buffer pool and redo log, which the fold's own writes need (at
    // a million rows on MariaDB 10.11, the backups and the UPDATE took 5.8 s instead of 7.5). The
    // stage needs no transaction of its own: it is dropped whether the run commits or not. Not on
    // MySQL, where enforce_gtid_consistency refuses non-transactional writes inside a transaction.
    if ((await this.server()).mariadb) {
      try {
        await create('MyISAM');
        return;
      } catch (error) {
        // A server without MyISAM (disabled_storage_engines) says so; the statement alone fails.
        if (this.lostConnection) throw error;
      }
    }
    await create('InnoDB');
  }

  async stage(rows: StagedSpec[]): Promise<void> {
    // A prepared statement sends the values as they are (binary protocol): no escaping of
    // megabytes of specs into one SQL text on the client.
    await this.insertStaged(STAGE_TABLE, rows, async (sql, values) => {
      if (this.lostConnection) throw this.lostConnection;
      this.trace(sql);
      await this.connection.execute(sql, values as string[]);
    });
  }

  async writeStage(t: StageTarget): Promise<void> {
    // The BINARY comparisons keep case- and accent-insensitive collations from matching a neighbour.
    const on = t.hasVersion
      ? 'w.uid = s.uid AND w.version = s.version AND BINARY w.uid = BINARY s.uid AND BINARY w.version = BINARY s.version'
      : 'w.uid = s.uid AND BINARY w.uid = BINARY s.uid';
    const saved = this.compile(
      `INSERT INTO ?? (run_id, workflow_uid, workflow_version, original_spec, written_hash)
       SELECT ?, s.uid, s.version, w.spec, s.hash FROM ${STAGE_TABLE} AS s JOIN ?? AS w ON ${on}`,
      [qualified(t.backups), t.runId, qualified(t.workflow)],
    );
    this.trace(saved.sql);
    const [inserted] = await this.connection.query(saved.sql, saved.bindings);
    const update = this.compile(`UPDATE ?? AS w JOIN ${STAGE_TABLE} AS s ON ${on} SET w.spec = s.spec`, [
      qualified(t.workflow),
    ]);
    this.trace(update.sql);
    const [result] = await this.connection.query(update.sql, update.bindings);
    const matched = Number(/Rows matched: (\d+)/.exec((result as mysql.ResultSetHeader).info ?? '')?.[1] ?? -1);
    if ((inserted as mysql.ResultSetHeader).affectedRows !== t.count || matched !== t.count) {
      throw new ToolError('workflow rows changed during the run; nothing was written');
    }
  }

  async closeStage(): Promise<void> {
    if (!this.lostConnection) await this.runNative(`DROP TEMPORARY TABLE IF EXISTS ${STAGE_TABLE}`, []);
  }

  async updateSpecs(ref: TableRef, _specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<void> {
    const size = (r: SpecWrite) => (r.spec?.length ?? 0) + r.uid.length + (r.version?.length ?? 0) + 64; // values and `SELECT ? AS …`
    for (const chunk of chunks(rows, ROWS_PER_UPDATE, size, this.statementChars)) {
      const select = hasVersion ? 'SELECT ? AS uid, ? AS version, ? AS spec' : 'SELECT ? AS uid, ? AS spec';
      const bindings = chunk.flatMap((r) => (hasVersion ? [r.uid, r.version, r.spec] : [r.uid, r.spec]));
      // The BINARY comparisons keep case- and accent-insensitive collations from matching a neighbour.
      const on = hasVersion
        ? 'w.uid = v.uid AND w.version = v.version AND BINARY w.uid = BINARY v.uid AND BINARY w.version = BINARY v.version'
        : 'w.uid = v.uid AND BINARY w.uid = BINARY v.uid';
      const compiled = this.compile(
        `UPDATE ?? AS w JOIN (${chunk.map(() => select).join(' UNION ALL ')}) AS v ON ${on} SET w.spec = v.spec`,
        [qualified(ref), ...bindings],
      );
      this.trace(compiled.sql);
      const [result] = await this.connection.query(compiled.sql, compiled.bindings);
      const matched = Number(
        /Rows matched: (\d+)/.exec((result as mysql.ResultSetHeader).info ?? '')?.[1] ?? chunk.length,
      );
      if (matched !== chunk.length) throw new ToolError('workflow rows changed during the run; nothing was written');
    }
  }

  async foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]> {
    return this.query<ForeignKeyRef>(
      `SELECT DISTINCT TABLE_NAME AS \`table\`, CONSTRAINT_NAME AS \`constraint\` FROM information_schema.KEY_COLUMN_USAGE
       WHERE REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ? ORDER BY 1, 2`,
      [ref.schema ?? (await this.defaultSchema()), ref.table],
    );
  }

  async freezeTables(): Promise<void> {
    // LOCK TABLES would end the transaction: the drop checks the table under LOCK TABLES instead.
  }

  /**
   * Under LOCK TABLES … WRITE (which waits for every transaction that touched the tables), the
   * step table's row count is checked, then each table is renamed; a rename keeps keys, indexes
   * and the AUTO_INCREMENT counter. A crash between the two renames is finished by the next run.
   */
  async keepTables(
    tables: KeptTable[],
    guard: { ref: TableRef; rows: number },
  ): Promise<{ kept: boolean; captured: string | null }> {
    this.committed = true; // DDL commits on its own here
    await this.query(
      `LOCK TABLES ${tables.map(() => '?? WRITE').join(', ')}`,
      tables.map((t) => qualified(t.original)),
    );
    try {
      if (tables.some((t) => t.original.table === guard.ref.table)) {
        const [count] = await this.query<{ n: number }>('SELECT COUNT(*) AS n FROM ??', [qualified(guard.ref)]);
        if (Number(count?.n) !== guard.rows) return { kept: false, captured: null };
      }
      for (const t of tables)
        await this.query('ALTER TABLE ?? RENAME TO ??', [
          qualified(t.original),
          qualified({ schema: t.original.schema, table: t.kept }),
        ]);
      return { kept: true, captured: null };
    } finally {
      await this.query('UNLOCK TABLES');
    }
  }

  async restoreTables(tables: KeptTable[]): Promise<void> {
    this.committed = true; // DDL commits on its own here
    await this.renameAll(
      tables.map((t) => [qualified({ schema: t.original.schema, table: t.kept }), qualified(t.original)]),
    );
  }

  private async renameAll(pairs: [string, string][]): Promise<void> {
    await this.query(`RENAME TABLE ${pairs.map(() => '?? TO ??').join(', ')}`, pairs.flat());
  }

  describeError(error: unknown): string | undefined {
    const e = error as { code?: string; message?: string; errno?: number; address?: string; port?: number };
    switch (e?.code) {
      case 'ECONNREFUSED':
        return `cannot connect to MySQL/MariaDB at ${e.address ?? 'the server'}:${e.port ?? ''}: connection refused (is the server running?)`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `cannot connect to MySQL/MariaDB: host not found (${e.message})`;
      case 'ETIMEDOUT':
        return 'cannot connect to MySQL/MariaDB: the connection timed out';
      case 'ER_BAD_DB_ERROR':
        return `${e.message} (check the database name in --db)`;
      case 'ER_ACCESS_DENIED_ERROR':
      case 'ER_DBACCESS_DENIED_ERROR':
        return `MySQL/MariaDB refused the login: ${e.message}`;
      case 'ER_TABLEACCESS_DENIED_ERROR':
        return `permission denied: ${e.message}`;
      case 'ER_QUERY_TIMEOUT':
        return 'MySQL stopped a query at max_execution_time, its time limit for this session or server; give the run more time (max_execution_time = 0)';
      case 'ER_NET_PACKET_TOO_LARGE':
        return "a workflow spec is larger than the server's max_allowed_packet allows in one statement; raise max_allowed_packet";
      case 'PROTOCOL_CONNECTION_LOST':
      case 'ECONNRESET':
        return 'the connection to MySQL/MariaDB was lost';
      default:
        // MariaDB's ER_STATEMENT_TIMEOUT, which mysql2 does not name.
        if (e?.errno === 1969) {
          return 'MariaDB stopped a statement at max_statement_time, its time limit for this user or server; give the run more time (max_statement_time = 0 for this account)';
        }
        return typeof e?.code === 'string' && e.code.startsWith('ER_')
          ? `MySQL/MariaDB error ${e.code}: ${e.message}`
          : undefined;
    }
  }
}
