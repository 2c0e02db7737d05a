import { openSync, writeSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import type { Dialect } from '../config/db-url.js';

/** A column as introspection reports it; `type` is the database's own lower-case type name. */
export interface ColumnInfo {
  name: string;
  type: string;
}

/** A table name, optionally in a schema (PostgreSQL schema, MySQL database). */
export interface TableRef {
  schema?: string;
  table: string;
}

/** One workflow row's new spec (null writes SQL NULL), for a batched update. */
export interface SpecWrite {
  uid: string;
  version: string | null;
  spec: string | null;
}

/** A workflow spec an apply will write, with the fingerprint of it the run keeps. */
export interface StagedSpec {
  uid: string;
  version: string;
  spec: string;
  hash: string;
}

/** Where the staged specs go and what writing them records. */
export interface StageTarget {
  workflow: TableRef;
  specType: string;
  hasVersion: boolean;
  backups: TableRef;
  runId: string;
  /** How many rows were staged: each must match exactly one workflow row. */
  count: number;
}

/** The session's temporary table that holds the specs of a run until its plan is complete. */
export const STAGE_TABLE = 'stepcfg_migrate_stage';
/** Staged rows per INSERT (four values each; the statement also stays under about 4 MB). */
export const STAGE_ROWS_PER_INSERT = 1000;

/** A table kept aside under another name in the same schema, instead of being dropped. */
export interface KeptTable {
  original: TableRef;
  kept: string;
}

/** A foreign key in some table that references a given table. */
export interface ForeignKeyRef {
  table: string;
  constraint: string;
}

export type TransactionMode = 'read' | 'write';

/**
 * What one database can do, and the SQL that differs between databases. Everything above this
 * interface is dialect-free: it asks for capabilities, never compares dialect names.
 */
export interface DialectAdapter {
  readonly dialect: Dialect;
  /** DDL takes part in transactions (SQLite, PostgreSQL), instead of committing (MySQL). */
  readonly transactionalDdl: boolean;
  /**
   * Batches a scan asks for ahead of the one it plans: a server reads them meanwhile. None on
   * SQLite, whose reads are synchronous (rows read early would only be held longer).
   */
  readonly readAhead: number;
  /** `SELECT … FOR UPDATE` locks rows (PostgreSQL, MySQL); SQLite locks the whole file instead. */
  readonly rowLocks: boolean;
  /**
   * Whether a writing transaction sees one stable state of the step table (SQLite: no other
   * writer; MySQL: a consistent snapshot), or each statement sees the latest (PostgreSQL READ COMMITTED).
   */
  readonly stableWrites: boolean;
  /** Tables live in named schemas (PostgreSQL schemas, MySQL databases) that `--schema` picks. */
  readonly hasSchemas: boolean;

  /**
   * A batch lookup: `SELECT list FROM table` for the rows whose key columns equal one of `keys`
   * (one text per column). By default `IN (…)` lists of each column's distinct values, which may
   * match a few more rows: callers keep the exact keys. `lock` adds `FOR UPDATE` (where `rowLocks`).
   * `listBindings` are those of `list`.
   */
  keyLookup(
    list: string,
    listBindings: unknown[],
    table: TableRef,
    columns: ColumnInfo[],
    keys: string[][],
    lock: boolean,
  ): { template: string; bindings: unknown[] };
  /** Runs one statement; `template` uses knex bindings (`?` values, `??` identifiers). */
  query<T = Record<string, unknown>>(template: string, bindings?: readonly unknown[]): Promise<T[]>;
  /** Like {@link query}, with each row as an array of its values in select-list order (cheaper for many rows). */
  queryArrays(template: string, bindings?: readonly unknown[]): Promise<unknown[][]>;
  /**
   * Takes the lock that keeps two writing runs apart (PostgreSQL advisory lock, MySQL GET_LOCK),
   * waiting up to `timeoutMs`; throws {@link LockTimeout} when another session keeps it. The lock
   * dies with the connection. SQLite has no such lock: its `BEGIN IMMEDIATE` is the lock.
   */
  lockRun(key: string, timeoutMs: number): Promise<void>;
  /** Who holds the run lock, as the server knows it (PostgreSQL, MySQL), when the run table cannot say. */
  lockHolder?(key: string): Promise<string | undefined>;
  /** Whether `lockRun` takes a lock of its own (PostgreSQL, MySQL) rather than the write lock (SQLite). */
  readonly lockRunIsSeparate: boolean;
  /** Whether anything of this run has been committed yet (a commit, or DDL that commits on its own). */
  readonly committed: boolean;
  /** Whether an error means that another session held a lock for longer than the timeout. */
  isLockTimeout(error: unknown): boolean;
  /** Drops the connection at once (on a signal): the database rolls back an open transaction. */
  abort(): void;
  /** Starts a transaction; `read` is enforced read-only by the database and takes no lock. */
  begin(mode: TransactionMode): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;

  /** The columns of a table, or null when it does not exist. */
  columns(ref: TableRef): Promise<ColumnInfo[] | null>;
  /** Whether a type can hold JSON text for this tool. */
  isJsonCapable(type: string): boolean;
  /** A select-list expression giving a column's stored value as text (JSON and timestamps). */
  asText(column: string): string;
  /** Whether a column of this type gives back JSON text exactly as it was written. */
  keepsJsonText(type: string): boolean;
  /** A select-list expression for a JSON column as text (on SQLite: as stored, text or bytes). */
  asJsonText(column: string): string;
  /**
   * SQLite only, where TEXT may hold any bytes and reading it as text replaces bad ones with
   * U+FFFD: an expression for the raw bytes, read again for the rows whose text shows one.
   */
  asJsonBytes?(column: string): string;
  /** The schema used when `--schema` is absent. */
  defaultSchema(): Promise<string | undefined>;
  /** Facts worth showing before planning: server version, SQLite foreign-key setting, … */
  notes(): Promise<string[]>;
  /** Problems that would stop a write (permissions, read-only files); empty when none. */
  writeProblems(refs: TableRef[]): Promise<string[]>;
  /**
   * Creates (empty) the session's temporary table for staged specs, inside the transaction: the
   * plan of an apply is staged there, batch by batch, and nothing touches the database's own
   * tables until the plan is complete.
   */
  openStage(workflow: TableRef, hasVersion: boolean): Promise<void>;
  /** Adds specs to the stage, in a few multi-row statements. */
  stage(rows: StagedSpec[]): Promise<void>;
  /**
   * Writes the stage in two set-based statements: the original spec of every staged workflow row
   * into the backups table (run id, key, original text, the hash of what is written), then the
   * new specs. Throws when the staged rows no longer match as many workflow rows.
   */
  writeStage(target: StageTarget): Promise<void>;
  /** Drops the stage if it is still there (a temporary table outlives the transaction on MySQL). */
  closeStage(): Promise<void>;
  /** Writes the specs of many workflow rows in as few statements as the database allows. */
  updateSpecs(ref: TableRef, specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<void>;
  /** Foreign keys of other tables that point at `ref` (the tables that would break if it went). */
  foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]>;
  /**
   * Keeps other sessions from writing to these tables until the transaction ends, where the
   * database can do that inside a transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already does).
   */
  freezeTables(refs: TableRef[]): Promise<void>;
  /**
   * Takes tables out of the way by renaming them, keeping rows, keys, indexes and sequences as
   * they are — unless `guard.ref` no longer holds `guard.rows` rows (rows came or went since the
   * plan), checked under a lock that no writer can slip past. Returns whether it renamed, and what
   * `restoreTables` will need besides the names (SQLite: the original DDL).
   */
  keepTables(
    tables: KeptTable[],
    guard: { ref: TableRef; rows: number },
  ): Promise<{ kept: boolean; captured: string | null }>;
  /** Brings kept tables back under their original names, exactly as they were. */
  restoreTables(tables: KeptTable[], captured: string | null): Promise<void>;
  /** Drops a table if it exists (the tool's own tables, on cleanup). */
  dropTable(ref: TableRef): Promise<void>;
  /** SQLite only: a complete copy of the database file through the online backup API. */
  backupFile?(path: string): Promise<void>;
  /** Creates a table from a knex schema-builder description (inside the transaction where DDL is transactional). */
  createTable(ref: TableRef, build: (t: Knex.CreateTableBuilder) => void): Promise<void>;
  /** Turns a driver error into one line for the operator (never with a password). */
  describeError(error: unknown): string | undefined;
}

/** The knex instance used only to build SQL for a dialect (quoting, placeholders). */
export function sqlBuilder(
  client: 'better-sqlite3' | 'pg' | 'mysql2',
  connection: Knex.StaticConnectionConfig | object,
) {
  return knexFactory({ client, connection, useNullAsDefault: true, pool: { min: 0, max: 1 } });
}

/**
 * Splits rows into chunks of at most `rows` rows and about `bytes` bytes of text, so that one
 * statement stays far below the server's packet limit (MySQL max_allowed_packet is 16 MB by default).
 */
export function chunks<T>(items: T[], rows: number, size: (item: T) => number, bytes = 4 << 20): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && (current.length >= rows || total + n > bytes)) {
      out.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** `schema.table` as a knex identifier binding. */
export function qualified(ref: TableRef): string {
  return ref.schema ? `${ref.schema}.${ref.table}` : ref.table;
}

/** Another session held the lock past `--lock-timeout`. */
export class LockTimeout extends Error {
  constructor() {
    super('lock timeout');
  }
}

/** Expands each `?` bound to an array into `?, ?, …` (for `IN (?)`), which knex raw does not do. */
export function expandArrays(
  template: string,
  bindings: readonly unknown[],
): { template: string; bindings: unknown[] } {
  const out: unknown[] = [];
  let i = 0;
  const sql = template.replace(/\\\?|\?\??/g, (token) => {
    if (token === '\\?') return token;
    const value = bindings[i++];
    if (token === '??' || !Array.isArray(value)) {
      out.push(value);
      return token;
    }
    if (value.length === 0) throw new Error('empty list bound to IN (?)');
    out.push(...value);
    return value.map(() => '?').join(', ');
  });
  return { template: sql, bindings: out };
}

/**
 * `STEPCFG_SQL_LOG=FILE` appends every statement the tool sends, one line each, after the
 * seconds since the process started and a tab: for debugging and timing, and for the test that
 * checks that statements do not grow with the rows.
 */
const sqlLog = process.env.STEPCFG_SQL_LOG ? openSync(process.env.STEPCFG_SQL_LOG, 'a') : null;

/** Shared plumbing: building SQL through knex and running it on one raw connection. */
export abstract class BaseAdapter {
  committed = false;
  /** Characters of spec text at most in one multi-row statement (see `chunks`). */
  protected statementChars = 4 << 20;
  protected constructor(protected readonly knex: Knex) {}

  /** Notes a statement about to be sent (see `STEPCFG_SQL_LOG`). */
  protected trace(sql: string): void {
    if (sqlLog !== null)
      writeSync(sqlLog, `${(performance.now() / 1000).toFixed(3)}\t${sql.replace(/\s+/g, ' ').slice(0, 160)}\n`);
  }

  /** Compiles a knex raw template into the driver's own SQL and bindings. */
  protected compile(template: string, bindings: readonly unknown[] = []): { sql: string; bindings: unknown[] } {
    const expanded = expandArrays(template, bindings);
    const native = this.knex
      .raw(expanded.template, expanded.bindings as Knex.RawBinding[])
      .toSQL()
      .toNative();
    return { sql: native.sql, bindings: [...native.bindings] };
  }

  /** Quotes one identifier (or `schema.table`) for this dialect. */
  protected quote(identifier: string): string {
    return this.knex.raw('??', [identifier]).toQuery();
  }

  /** Runs SQL already in the driver's own form. */
  protected abstract runNative<T>(sql: string, bindings: unknown[]): Promise<T[]>;
  /** Runs a query in the driver's own form, each row as an array. */
  protected abstract runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]>;

  queryArrays(template: string, bindings: readonly unknown[] = []): Promise<unknown[][]> {
    const compiled = this.compile(template, bindings);
    return this.runNativeArrays(compiled.sql, compiled.bindings);
  }

  /**
   * Inserts staged specs into the stage table (named as this dialect reaches it), in multi-row
   * chunks, each sent by `send` (by default as a query).
   */
  protected async insertStaged(
    table: string,
    rows: StagedSpec[],
    send: (sql: string, values: unknown[]) => Promise<unknown> = (sql, values) => this.query(sql, values),
  ): Promise<void> {
    // Each row's values and its share of the SQL text count, not its spec alone.
    const size = (r: StagedSpec) => r.spec.length + r.uid.length + r.version.length + r.hash.length + 32;
    for (const chunk of chunks(rows, STAGE_ROWS_PER_INSERT, size, this.statementChars)) {
      await send(
        `INSERT INTO ${table} (uid, version, spec, hash) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((r) => [r.uid, r.version, r.spec, r.hash]),
      );
    }
  }

  keyLookup(
    list: string,
    listBindings: unknown[],
    table: TableRef,
    columns: ColumnInfo[],
    keys: string[][],
    lock: boolean,
  ): { template: string; bindings: unknown[] } {
    const values = columns.map((_, i) => [...new Set(keys.map((k) => k[i] as string))]);
    return {
      template: `SELECT ${list} FROM ?? WHERE ${columns.map(() => '?? IN (?)').join(' AND ')}${lock ? ' FOR UPDATE' : ''}`,
      bindings: [...listBindings, qualified(table), ...columns.flatMap((c, i) => [c.name, values[i]])],
    };
  }

  query<T = Record<string, unknown>>(template: string, bindings: readonly unknown[] = []): Promise<T[]> {
    const compiled = this.compile(template, bindings);
    return this.runNative<T>(compiled.sql, compiled.bindings);
  }

  async dropTable(ref: TableRef): Promise<void> {
    const schema = ref.schema ? this.knex.schema.withSchema(ref.schema) : this.knex.schema;
    for (const statement of schema.dropTableIfExists(ref.table).toSQL()) {
      await this.runNative(statement.sql, [...(statement.bindings ?? [])]);
    }
  }

  async createTable(ref: TableRef, build: (t: Knex.CreateTableBuilder) => void): Promise<void> {
    const schema = ref.schema ? this.knex.schema.withSchema(ref.schema) : this.knex.schema;
    for (const statement of schema.createTable(ref.table, build).toSQL()) {
      await this.runNative(statement.sql, [...(statement.bindings ?? [])]);
    }
  }
}
