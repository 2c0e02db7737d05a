import pg from 'pg';
import { ToolError } from '../errors.js';
import {
  BaseAdapter,
  chunks,
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

export interface ServerConnection {
  host: string;
  port: number | undefined;
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
  params: Record<string, string>;
  connectTimeoutMs: number;
  label: string;
}

const JSON_TYPES = ['json', 'jsonb', 'text', 'character varying'];
/** Key column types compared with text through their indexes (`character` is not: it would be cast). */
const TEXT_TYPES = ['text', 'character varying'];
const ROWS_PER_UPDATE = 1000;
/** The first key of the tool's advisory locks; the second is a hash of schema and table. */
const ADVISORY_CLASS = 0x57ec;

/** PostgreSQL through pg: transactional DDL, row locks, advisory locks. */
export class PostgresAdapter extends BaseAdapter implements DialectAdapter {
  readonly dialect = 'postgres' as const;
  readonly transactionalDdl = true;
  readonly readAhead = 2;
  readonly rowLocks = true;
  readonly hasSchemas = true;
  readonly lockRunIsSeparate = true;
  readonly stableWrites = false;
  private lostConnection: Error | undefined;
  /** What `keyLookup` needs to know of each table whose columns were read, by `qualified(ref)`. */
  private readonly indexes = new Map<string, { leads: string[][]; nondeterministic: string[] }>();
  /** The statements sent so far, finished or not (see `send`). */
  private queue: Promise<void> = Promise.resolve();

  private constructor(private readonly client: pg.Client) {
    super(sqlBuilder('pg', {}));
    // A server that ends the session sends its reason (a FATAL error with a SQLSTATE), then the
    // socket closes with a second error that says only that: the reason is kept.
    client.on('error', (e) => {
      if (!/^[0-9A-Z]{5}$/.test((this.lostConnection as { code?: string } | undefined)?.code ?? ''))
        this.lostConnection = e;
    });
  }

  static async open(target: ServerConnection): Promise<PostgresAdapter> {
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
      const adapter = new PostgresAdapter(client);
      // JIT compiling takes about 0.2 s a statement when a table without statistics makes the
      // estimates high, for lookups that take milliseconds. (Before PostgreSQL 11 there is no jit.)
      await adapter.runNative('SET jit = off', []).catch(() => undefined);
      // `created` is read as text and ordered as an ISO timestamp: a database set to another
      // DateStyle ('SQL, DMY' gives 20/01/2025) would have its items ordered by day of month.
      await adapter.runNative("SET DateStyle = 'ISO, YMD'", []);
      return adapter;
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
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

  protected async runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]> {
    const result = await this.send({ text: sql, values: bindings, rowMode: 'array' });
    return result.rows as unknown[][];
  }

  protected async runNative<T>(sql: string, bindings: unknown[]): Promise<T[]> {
    const result = await this.send({ text: sql, values: bindings });
    return result.rows as T[];
  }

  /**
   * One index probe per key, whatever the table's statistics say: the keys (one JSON text) joined
   * LATERAL with the table. With `IN (…)` lists of a batch's keys, the planner of a table that has
   * no statistics (autovacuum off, or just restored by pg_restore, which does not analyze) scanned
   * the whole table for every batch: time grew with the square of the rows. `OFFSET 0` keeps the
   * subquery from being merged into a hash join. `IN` lists stay where a probe would not be an
   * index probe (no index leads with the key columns, or they are not text: one scan per key), or
   * could find a row twice (a nondeterministic collation holds two keys equal).
   */
  override keyLookup(
    list: string,
    listBindings: unknown[],
    table: TableRef,
    columns: ColumnInfo[],
    keys: string[][],
    lock: boolean,
  ): { template: string; bindings: unknown[] } {
    if (!this.canProbe(table, columns)) return super.keyLookup(list, listBindings, table, columns, keys, lock);
    const unique = [...new Map(keys.map((k) => [JSON.stringify(k), k])).values()];
    return {
      template: `SELECT s.* FROM (SELECT ${columns.map((_, i) => `e ->> ${i} AS k${i}`).join(', ')}
                                 FROM json_array_elements(CAST(? AS json)) AS e) AS k
                 CROSS JOIN LATERAL (SELECT ${list} FROM ?? WHERE ${columns.map((_, i) => `?? = k.k${i}`).join(' AND ')}
                                     OFFSET 0${lock ? ' FOR UPDATE' : ''}) AS s`,
      bindings: [JSON.stringify(unique), ...listBindings, qualified(table), ...columns.map((c) => c.name)],
    };
  }

  /** Whether `keyLookup` can probe an index per key (see there), from what `columns` learnt of the table. */
  private canProbe(table: TableRef, columns: ColumnInfo[]): boolean {
    const info = this.indexes.get(qualified(table));
    if (!info || !columns.every((c) => TEXT_TYPES.includes(c.type) && !info.nondeterministic.includes(c.name)))
      return false;
    const names = columns.map((c) => c.name);
    return info.leads.some(
      (lead) => lead.length >= names.length && names.every((n) => lead.slice(0, names.length).includes(n)),
    );
  }

  /**
   * The key columns, in order, of each index of a table that equality can probe (btree or hash,
   * whole, valid; '' for an expression or a column indexed under another collation), and its
   * columns of a nondeterministic collation.
   */
  private async indexInfo(schema: string, table: string): Promise<{ leads: string[][]; nondeterministic: string[] }> {
    const name = this.quote(qualified({ schema, table }));
    // to_jsonb(…) ->> reads columns that older versions lack (indnkeyatts: 11, collisdeterministic: 12) as null.
    const indexes = await this.query<{ cols: string[] }>(
      `SELECT ARRAY(SELECT CASE WHEN (i.indcollation::oid[])[k.o - 1] = a.attcollation THEN a.attname::text ELSE '' END
                    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                    WHERE k.o <= coalesce(CAST(to_jsonb(i) ->> 'indnkeyatts' AS int), i.indnatts)
                    ORDER BY k.o) AS cols
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
       WHERE i.indrelid = to_regclass(?) AND i.indisvalid AND i.indpred IS NULL AND am.amname IN ('btree', 'hash')`,
      [name],
    );
    const collated = await this.query<{ name: string }>(
      `SELECT a.attname::text AS name FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
       WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND to_jsonb(c) ->> 'collisdeterministic' = 'false'`,
      [name],
    );
    return { leads: indexes.map((r) => r.cols), nondeterministic: collated.map((r) => r.name) };
  }

  async lockRun(key: string, timeoutMs: number): Promise<void> {
    // lock_timeout bounds every lock wait of the session: this one, and row locks later on.
    await this.runNative(`SET lock_timeout = ${Math.max(1, Math.round(timeoutMs))}`, []);
    await this.query('SELECT pg_advisory_lock(?, hashtext(?))', [ADVISORY_CLASS, key]);
  }

  isLockTimeout(error: unknown): boolean {
    return (error as { code?: string })?.code === '55P03';
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

  abort(): void {
    this.lostConnection ??= new Error('aborted');
    void this.client.end().catch(() => undefined);
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
    await this.client.end().catch(() => undefined);
    await this.knex.destroy();
  }

  async columns(ref: TableRef): Promise<ColumnInfo[] | null> {
    const schema = ref.schema ?? (await this.defaultSchema()) ?? 'public';
    const rows = await this.query<{ name: string; type: string }>(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns
       WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
      [schema, ref.table],
    );
    if (rows.length === 0) return null;
    this.indexes.set(qualified(ref), await this.indexInfo(schema, ref.table));
    return rows.map((r) => ({ name: r.name, type: r.type.toLowerCase() }));
  }

  isJsonCapable(type: string): boolean {
    return JSON_TYPES.includes(type);
  }

  asText(column: string): string {
    return `CAST(${this.quote(column)} AS TEXT)`;
  }

  keepsJsonText(type: string): boolean {
    return type !== 'jsonb'; // json and text keep the input text; jsonb re-serialises it
  }

  asJsonText(column: string): string {
    return this.asText(column);
  }

  async defaultSchema(): Promise<string | undefined> {
    const [row] = await this.query<{ s: string | null }>('SELECT current_schema() AS s');
    return row?.s ?? undefined;
  }

  async notes(): Promise<string[]> {
    const [row] = await this.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return [`PostgreSQL ${row?.v}`];
  }

  async writeProblems(refs: TableRef[]): Promise<string[]> {
    const problems: string[] = [];
    const [ro] = await this.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
    if (ro?.transaction_read_only === 'on')
      problems.push('the server only accepts read-only transactions (a standby?)');
    for (const ref of refs) {
      const [row] = await this.query<{ ok: boolean }>('SELECT has_table_privilege(?, ?) AS ok', [
        this.quote(qualified({ schema: ref.schema ?? (await this.defaultSchema()), table: ref.table })),
        'UPDATE',
      ]);
      if (!row?.ok) problems.push(`the database user may not UPDATE ${qualified(ref)}`);
    }
    return problems;
  }

  async openStage(): Promise<void> {
    await this.runNative(`DROP TABLE IF EXISTS pg_temp.${STAGE_TABLE}`, []);
    await this.runNative(
      `CREATE TEMP TABLE ${STAGE_TABLE} (uid text NOT NULL, version text NOT NULL, spec text NOT NULL, hash text NOT NULL) ON COMMIT DROP`,
      [],
    );
  }

  async stage(rows: StagedSpec[]): Promise<void> {
    await this.insertStaged(`pg_temp.${STAGE_TABLE}`, rows);
  }

  async writeStage(t: StageTarget): Promise<void> {
    if (!JSON_TYPES.includes(t.specType)) throw new ToolError(`unsupported spec column type ${t.specType}`);
    const cast = t.specType === 'character varying' ? 'text' : t.specType;
    const stage = `pg_temp.${STAGE_TABLE}`;
    const on = `w.uid = s.uid${t.hasVersion ? ' AND w.version = s.version' : ''}`;
    // A temporary table has no statistics until analysed; the planner needs them for the joins.
    await this.runNative(`ANALYZE ${stage}`, []);
    // Row counts from the command tags: no row comes back to count.
    const count = async (template: string, bindings: unknown[]) => {
      const compiled = this.compile(template, bindings);
      return (await this.send({ text: compiled.sql, values: compiled.bindings })).rowCount;
    };
    const saved = await count(
      `INSERT INTO ?? (run_id, workflow_uid, workflow_version, original_spec, written_hash)
       SELECT ?, s.uid, s.version, CAST(w.spec AS text), s.hash FROM ${stage} AS s JOIN ?? AS w ON ${on}`,
      [qualified(t.backups), t.runId, qualified(t.workflow)],
    );
    const updated = await count(`UPDATE ?? AS w SET spec = CAST(s.spec AS ${cast}) FROM ${stage} AS s WHERE ${on}`, [
      qualified(t.workflow),
    ]);
    if (saved !== t.count || updated !== t.count) {
      throw new ToolError('workflow rows changed during the run; nothing was written');
    }
  }

  async closeStage(): Promise<void> {
    if (!this.lostConnection) await this.runNative(`DROP TABLE IF EXISTS pg_temp.${STAGE_TABLE}`, []);
  }

  async updateSpecs(ref: TableRef, specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<void> {
    if (!JSON_TYPES.includes(specType)) throw new ToolError(`unsupported spec column type ${specType}`);
    const cast = specType === 'character varying' ? 'text' : specType;
    for (const chunk of chunks(rows, ROWS_PER_UPDATE, (r) => r.spec?.length ?? 0)) {
      const values = chunk.map(() => (hasVersion ? '(?, ?, ?)' : '(?, ?)')).join(', ');
      const bindings = chunk.flatMap((r) => (hasVersion ? [r.uid, r.version, r.spec] : [r.uid, r.spec]));
      const changed = await this.query(
        `UPDATE ?? AS w SET spec = CAST(v.spec AS ${cast}) FROM (VALUES ${values}) AS v(uid, ${hasVersion ? 'version, ' : ''}spec)
         WHERE w.uid = v.uid${hasVersion ? ' AND w.version = v.version' : ''} RETURNING 1`,
        [qualified(ref), ...bindings],
      );
      if (changed.length !== chunk.length) {
        throw new ToolError('workflow rows changed during the run; nothing was written');
      }
    }
  }

  async foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]> {
    const name = this.quote(qualified({ schema: ref.schema ?? (await this.defaultSchema()), table: ref.table }));
    return this.query<ForeignKeyRef>(
      `SELECT c.conrelid::regclass::text AS "table", c.conname AS "constraint" FROM pg_constraint c
       WHERE c.contype = 'f' AND c.confrelid = to_regclass(?) ORDER BY 1, 2`,
      [name],
    );
  }

  async freezeTables(refs: TableRef[]): Promise<void> {
    // Reads go on; inserts, updates and deletes wait for the end of the run (or --lock-timeout).
    await this.query(`LOCK TABLE ${refs.map(() => '??').join(', ')} IN SHARE ROW EXCLUSIVE MODE`, refs.map(qualified));
  }

  /** A rename keeps rows, constraints, indexes and the owned sequence with its value. */
  async keepTables(
    tables: KeptTable[],
    guard: { ref: TableRef; rows: number },
  ): Promise<{ kept: boolean; captured: string | null }> {
    const [count] = await this.query<{ n: string }>('SELECT COUNT(*) AS n FROM ??', [qualified(guard.ref)]);
    if (Number(count?.n) !== guard.rows) return { kept: false, captured: null };
    for (const t of tables) await this.query('ALTER TABLE ?? RENAME TO ??', [qualified(t.original), t.kept]);
    return { kept: true, captured: null };
  }

  async restoreTables(tables: KeptTable[]): Promise<void> {
    for (const t of tables) {
      await this.query('ALTER TABLE ?? RENAME TO ??', [
        qualified({ schema: t.original.schema, table: t.kept }),
        t.original.table,
      ]);
    }
  }

  describeError(error: unknown): string | undefined {
    // The server's reason for ending the session (its FATAL error) says more than the lost
    // connection that a statement in flight then reports.
    const reason = this.lostConnection as { code?: string } | undefined;
    if (reason && reason !== error && /^[0-9A-Z]{5}$/.test(reason.code ?? '')) return describePostgresError(reason);
    return describePostgresError(error);
  }
}

/** One line for the operator about a pg error (never with a password); undefined when it is not one. */
export function describePostgresError(error: unknown): string | undefined {
  const e = error as { code?: string; message?: string; address?: string; port?: number };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return `cannot connect to PostgreSQL at ${e.address ?? 'the server'}:${e.port ?? ''}: connection refused (is the server running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to PostgreSQL: host not found (${e.message})`;
    case 'ETIMEDOUT':
      return 'cannot connect to PostgreSQL: the connection timed out';
    case '3D000':
      return `${e.message} (check the database name in --db)`;
    case '28P01':
    case '28000':
      return `PostgreSQL refused the login: ${e.message}`;
    case '42501':
      return `permission denied: ${e.message}`;
    case '57014':
      // statement_timeout, set for the user or the database (or an administrator's pg_cancel_backend).
      return /statement timeout/i.test(e.message ?? '')
        ? "PostgreSQL cancelled a statement at statement_timeout, its time limit for this user or database; give the run more time, e.g. PGOPTIONS='-c statement_timeout=0'"
        : `PostgreSQL cancelled a statement (${e.message})`;
    case '25P03':
      return "PostgreSQL ended the session at idle_in_transaction_session_timeout, its limit for this user or database on a pause inside a transaction; give the run more time, e.g. PGOPTIONS='-c idle_in_transaction_session_timeout=0'";
    case '57P01':
    case '57P02':
    case '57P03':
      return `the server ended the connection: ${e.message}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to PostgreSQL was lost (${e.message})`;
    default:
      if (e?.message === 'Connection terminated unexpectedly') return 'the connection to PostgreSQL was lost';
      if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code))
        return `PostgreSQL error ${e.code}: ${e.message}`;
      // The driver's own connection timeout has no SQLSTATE.
      return /timeout/i.test(e?.message ?? '') ? `cannot connect to PostgreSQL: ${e.message}` : undefined;
  }
}
