import type { StepRow } from '../core/types.js';
import type { TableRef } from '../dialect/adapter.js';
import type { ScriptFile } from './script-file.js';
import type { RowHash } from './row-hash.js';

/** What a script writes into, known before the first row: tables, run, lock, the tool's own DDL. */
export interface ScriptTarget {
  runId: string;
  workflow: TableRef;
  step: TableRef;
  runs: TableRef;
  backups: TableRef;
  hasVersion: boolean;
  /** The workflow spec column's type, as introspection names it. */
  specType: string;
  /** The step columns the plan read, in the order the step table's fingerprint hashes them. */
  stepColumns: { column: string; field: keyof StepRow }[];
  /** The tool's run lock, as the tool names it, and how long to wait for it. */
  lockKey: string;
  lockTimeoutMs: number;
  /** The tool's CREATE TABLE statements of its own tables, as it runs them. */
  ownTables: string[];
}

/** One workflow row the script rewrites. */
export interface RowWrite {
  uid: string;
  version: string;
  /** The hash ({@link ScriptDialect.rowHash}) of the spec the plan read; null for a NULL spec. */
  oldHash: Buffer | null;
  newSpec: string;
  /** What the backup records of the new spec, as the tool computes it. */
  writtenHash: string;
}

/** What the plan found that the script checks again: the step table's row count and hash sum. */
export interface PlanFacts {
  stepRows: number;
  stepSum: bigint;
  /** The longest statement of the script, in bytes (MariaDB's max_allowed_packet must hold it). */
  largestStatement: number;
}

/** A run record's column values, as SQL: literals, and the time expressions of the script's dialect. */
export type RunValues = { column: string; sql: string }[];

/**
 * The SQL of one database's script: its literals, the tool's lock, one transaction, the guards,
 * and how its shell is told to stop at the first error.
 */
export interface ScriptDialect {
  /** The hash the shell computes of a spec (the guard) and of a step row (the table's fingerprint). */
  readonly rowHash: RowHash;
  /** A string literal that the shell and the database read back as exactly `text`. */
  literal(text: string): string;
  /** A quoted table name. */
  table(ref: TableRef): string;
  /** Header lines: how to run the script with the database's shell. */
  howToRun(file: string): string[];
  /** Header lines: the statements that commit on their own, and why running it again is safe. */
  autoCommits(): string[];
  /**
   * Settings, lock, the tool's tables, the transaction, and the check that the step table is as
   * the plan read it; the facts the check needs are filled in once the plan is complete.
   */
  prologue(t: ScriptTarget, out: ScriptFile): (facts: PlanFacts) => void;
  /** The statements of one workflow row: the guard, the backup, the new spec. */
  row(t: ScriptTarget, w: RowWrite): string;
  /** The SQL expression of the current time, as the tool writes times (ISO 8601, UTC, milliseconds). */
  now(): string;
  /** The run record, the commit, and the lock let go. */
  epilogue(t: ScriptTarget, record: RunValues): string;
}

/** The message of a guard that misses, naming the row (short: MariaDB keeps 128 characters). */
export function rowChanged(w: RowWrite): string {
  const cut = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);
  const row = `workflow ${JSON.stringify(cut(w.uid))} version ${JSON.stringify(cut(w.version))}`;
  return `stepcfg-migrate: ${row} changed after the plan; nothing written`;
}

/** The message of the step table's check that misses. */
export function stepsChanged(t: ScriptTarget): string {
  return `stepcfg-migrate: rows of ${t.step.table} changed after the plan; nothing written, make a new plan`;
}

/** The row's key, as the tool's writes match it (SQLite, PostgreSQL: texts compare by their bytes). */
export function rowKey(d: ScriptDialect, t: ScriptTarget, w: RowWrite): string {
  return `uid = ${d.literal(w.uid)}${t.hasVersion ? ` AND version = ${d.literal(w.version)}` : ''}`;
}

/** A backup row's first values: the run, and the row's key. */
export function backupKey(d: ScriptDialect, t: ScriptTarget, w: RowWrite): string {
  return [t.runId, w.uid, w.version].map((v) => d.literal(v)).join(', ');
}

/** The step columns as the tool reads them (text; a missing version is empty), named c1, c2, … */
export function stepColumnTexts(t: ScriptTarget): string {
  return t.stepColumns
    .map(({ column, field }, i) => {
      const text = `CAST("${column}" AS TEXT)`;
      return `${field === 'version' ? `coalesce(${text}, '')` : text} AS c${i + 1}`;
    })
    .join(', ');
}

/** The statement that records the run, ended by `end`. */
export function insertRun(d: ScriptDialect, t: ScriptTarget, record: RunValues, end = ';\n'): string {
  return (
    `INSERT INTO ${d.table(t.runs)} (${record.map((r) => r.column).join(', ')})\n` +
    `  VALUES (${record.map((r) => r.sql).join(', ')})${end}`
  );
}
