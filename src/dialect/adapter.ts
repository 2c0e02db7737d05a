import type { Knex } from 'knex';
import type { Capabilities } from './capabilities.js';
import type {
  ColumnInfo,
  ForeignKeyRef,
  KeepGuard,
  KeptTable,
  OrderedScan,
  OrderedScanRequest,
  SelectItem,
  SpecWrite,
  StageCounts,
  StagedSpec,
  StageTarget,
  Statement,
  TableRef,
  TransactionMode,
  WriteCount,
} from './types.js';

// Callers import the seam's types from here, beside the interfaces that use them.
export type * from './types.js';
export { qualified } from './types.js';
export type { Capabilities } from './capabilities.js';

/** One connection: statements, transactions, the run lock, and what its errors mean. */
export interface Session {
  /** Runs one statement; `template` uses knex bindings (`?` values, `??` identifiers). */
  query<T = Record<string, unknown>>(template: string, bindings?: readonly unknown[]): Promise<T[]>;
  /** Like {@link query}, with each row as an array of its values in select-list order (cheaper for many rows). */
  queryArrays(template: string, bindings?: readonly unknown[]): Promise<unknown[][]>;
  /** Starts a transaction; `read` is enforced read-only by the database and takes no lock. */
  begin(mode: TransactionMode): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /**
   * Takes the lock that keeps two writing runs apart, waiting up to `timeoutMs`; the lock dies with
   * the connection. Absent where `lockRunIsSeparate` is false (SQLite's `BEGIN IMMEDIATE` is the lock).
   */
  lockRun?(key: string, timeoutMs: number): Promise<void>;
  /** Who holds the run lock, as the server knows it (PostgreSQL, MySQL), when the run table cannot say. */
  lockHolder?(key: string): Promise<string | undefined>;
  /**
   * Ends the server's time limit on this session's statements (MySQL/MariaDB), before the tool
   * removes the tables a failed run made: a limit meant for the run must not leave them behind.
   */
  liftTimeLimits?(): Promise<void>;
  /** Whether anything of this run has been committed yet (a commit, or DDL that commits on its own). */
  readonly committed: boolean;
  /** Whether an error means that another session held a lock for longer than the timeout. */
  isLockTimeout(error: unknown): boolean;
  /** Turns a driver error into one line for the operator (never with a password). */
  describeError(error: unknown): string | undefined;
  /** Drops the connection at once (on a signal): the database rolls back an open transaction. */
  abort(): void;
  close(): Promise<void>;
}

/** What the database says about itself and its tables. */
export interface Introspection {
  /** The columns of a table, or null when it does not exist. */
  columns(ref: TableRef): Promise<ColumnInfo[] | null>;
  /** The schema used when `--schema` is absent. */
  defaultSchema(): Promise<string | undefined>;
  /** Facts worth showing before planning: server version, SQLite foreign-key setting, … */
  notes(): Promise<string[]>;
  /** Problems that would stop a write (permissions, read-only files); empty when none. */
  writeProblems(refs: TableRef[]): Promise<string[]>;
  /**
   * Step rows whose `workflow_id` no workflow uid can equal because of how it is stored (SQLite:
   * bytes), as one line for the operator; undefined when there are none.
   */
  unmatchableIds?(step: TableRef): Promise<string | undefined>;
  /** Foreign keys of other tables that point at `ref` (the tables that would break if it went). */
  foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]>;
  /** Whether a type can hold JSON text for this tool. */
  isJsonCapable(type: string): boolean;
  /** Whether a column of this type gives back JSON text exactly as it was written. */
  keepsJsonText(type: string): boolean;
}

/** The SQL that reads values the same way on every database: text of any column, JSON as written. */
export interface ReadSql {
  /** A select-list expression giving a column's stored value as text (JSON and timestamps). */
  asText(column: string): string;
  /** A select-list expression for a JSON column as text (on SQLite: as stored, text or bytes). */
  asJsonText(column: string): string;
  /**
   * SQLite only, where TEXT may hold any bytes and reading it as text replaces bad ones with
   * U+FFFD: an expression for the raw bytes, read again for the rows whose text shows one.
   */
  asJsonBytes?(column: string): string;
  /** A select list of these items, each under its name (a `??` binding each). */
  selectList(items: SelectItem[]): Statement;
  /**
   * A batch lookup: the `select` items of the rows of `table` whose key columns equal one of
   * `keys` (one text per column). It may match a few more rows (`IN` lists of each column's
   * values, a collation that holds two keys equal): callers keep the exact keys. `lock` adds
   * `FOR UPDATE` (where `rowLocks`).
   */
  keyLookup(select: SelectItem[], table: TableRef, columns: ColumnInfo[], keys: string[][], lock: boolean): Statement;
  /**
   * Reads every step row in `workflow_id` order, joined with the workflow rows, in one pass
   * through the table instead of lookups by key, where the database can do that better
   * (SQLite: its sorter, on a second thread). Undefined where it cannot (then the run looks up).
   * The run must not have changed either table in its transaction: the reading may see the
   * database from another connection.
   */
  orderedScan?(request: OrderedScanRequest): Promise<OrderedScan | undefined>;
}

/** The tool's own writes: the staged specs of an apply, spec updates, and its tables. */
export interface BulkWrites {
  /**
   * Creates (empty) the session's temporary table for staged specs, inside the transaction: the
   * plan of an apply is staged there, batch by batch, and nothing touches the database's own
   * tables until the plan is complete.
   */
  openStage(target: StageTarget): Promise<void>;
  /**
   * Adds specs to the stage, in a few multi-row statements. PostgreSQL also saves their original
   * specs into the backups table (the tool's own) as it goes, while the run still plans.
   */
  stage(rows: StagedSpec[]): Promise<void>;
  /**
   * Writes the stage in set-based statements: the original spec of every staged workflow row into
   * the backups table (run id, key, original text, the hash of what is written), unless `stage`
   * saved them already, then the new specs. Returns the rows each wrote; the run judges them.
   */
  writeStage(target: StageTarget): Promise<StageCounts>;
  /** Drops the stage if it is still there (a temporary table outlives the transaction on MySQL). */
  closeStage(): Promise<void>;
  /** Writes the specs of many workflow rows in as few statements as the database allows; the rows of each. */
  updateSpecs(ref: TableRef, specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<WriteCount[]>;
  /**
   * Keeps other sessions from writing to these tables until the transaction ends, where the
   * database can do that inside a transaction and needs to (PostgreSQL; SQLite's BEGIN IMMEDIATE already does).
   */
  freezeTables?(refs: TableRef[]): Promise<void>;
  /**
   * Takes tables out of the way by renaming them, keeping rows, keys, indexes and sequences as
   * they are, when `guard` accepts the rows its table holds under the lock. Returns whether it
   * renamed, and what `restoreTables` will need besides the names (SQLite: the original DDL).
   */
  keepTables(tables: KeptTable[], guard: KeepGuard): Promise<{ kept: boolean; captured: string | null }>;
  /** Brings kept tables back under their original names, exactly as they were. */
  restoreTables(tables: KeptTable[], captured: string | null): Promise<void>;
  /** Drops a table if it exists (the tool's own tables, on cleanup). */
  dropTable(ref: TableRef): Promise<void>;
  /** Creates a table from a knex schema-builder description (inside the transaction where DDL is transactional). */
  createTable(ref: TableRef, build: (t: Knex.CreateTableBuilder) => void): Promise<void>;
  /** A complete copy of the database file (SQLite online backup); present where `fileBackup`. */
  backupFile?(path: string): Promise<void>;
}

/**
 * One open database as the run sees it: its capabilities and the four jobs. Everything above
 * this type is dialect-free: it asks for capabilities, never compares dialect names.
 */
export type DialectAdapter = Capabilities & Session & Introspection & ReadSql & BulkWrites;
