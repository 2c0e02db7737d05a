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

/** `schema.table` as a knex identifier binding. */
export function qualified(ref: TableRef): string {
  return ref.schema ? `${ref.schema}.${ref.table}` : ref.table;
}

/** Where a database server is and who connects to it (PostgreSQL, MySQL/MariaDB). */
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

/** Called with each statement as it is sent (the CLI logs them under `STEPCFG_SQL_LOG`). */
export type Trace = (sql: string) => void;

/** A `read` transaction is read-only and takes no lock; a `write` one takes the write locks. */
export type TransactionMode = 'read' | 'write';

/**
 * One value of a read's select list, under the name `as`: a column as text, as JSON text, or as
 * the raw bytes of a JSON column; `column: null` stands for an empty text (a key column the table lacks).
 */
export interface SelectItem {
  column: string | null;
  read: 'text' | 'json' | 'json-bytes';
  as: string;
}

/** A statement in knex raw form: `?` values, `??` identifiers. */
export interface Statement {
  template: string;
  bindings: unknown[];
}

/** One workflow row's new spec (null writes SQL NULL), for a batched update. */
export interface SpecWrite {
  uid: string;
  version: string | null;
  spec: string | null;
}

/** Rows one write statement was given, and the rows the database says it wrote (null: it did not say). */
export interface WriteCount {
  given: number;
  written: number | null;
}

/** A workflow spec an apply will write, with the fingerprint of it the run keeps. */
export interface StagedSpec {
  uid: string;
  version: string;
  spec: string;
  hash: string;
  /** The spec it replaces, as the run read it (under lock) as text. */
  original: string | null;
}

/** Where the staged specs go and what writing them records. */
export interface StageTarget {
  workflow: TableRef;
  specType: string;
  hasVersion: boolean;
  backups: TableRef;
  runId: string;
}

/** What writing the stage did, as the database counts it (null where it did not say). */
export interface StageCounts {
  /** Original specs saved into the backups table. */
  backedUp: number | null;
  /** Workflow rows given their new spec. */
  updated: number | null;
}

/** A table kept aside under another name in the same schema, instead of being dropped. */
export interface KeptTable {
  original: TableRef;
  kept: string;
}

/**
 * The condition of keeping tables aside: `accepts` is asked with the rows `ref` holds, counted
 * under a lock no writer can slip past; the tables are renamed only when it says yes.
 */
export interface KeepGuard {
  ref: TableRef;
  accepts(rows: number): boolean;
}

/** A foreign key in some table that references a given table. */
export interface ForeignKeyRef {
  table: string;
  constraint: string;
}

/** What an ordered scan reads: the step rows and the workflow rows, as the select items say. */
export interface OrderedScanRequest {
  step: TableRef;
  workflow: TableRef;
  stepSelect: SelectItem[];
  workflowSelect: SelectItem[];
  /** Groups per batch (fewer where their rows are many). */
  batchGroups: number;
}

/** The step rows of one `workflow_id` (or of none), with the rows of the workflow of that uid. */
export interface RowGroup {
  /** Values in `workflowSelect` order. */
  workflows: unknown[][];
  /** Values in `stepSelect` order; an empty or NULL `workflow_id` makes a group of its own. */
  steps: unknown[][];
}

/**
 * Every step row, grouped by exact `workflow_id` in code-point order, each group with its
 * workflow's rows, all read in one snapshot of the database (see `ReadSql.orderedScan`).
 */
export interface OrderedScan {
  /** The step table's rows in that snapshot. */
  readonly steps: number;
  batches(): AsyncIterable<RowGroup[]>;
  /** Stops the reading if it is still going, and lets the file go. */
  close(): Promise<void>;
}
