/**
 * The ordered read of SQLite, wherever it runs (a thread of its own for a large table, the run's
 * own for a small one): the step rows walked in `workflow_id` order along its index, each id
 * joined with the rows of the workflow of that uid (their keys sorted, each row then read by
 * rowid), in batches of whole groups.
 */
import type Database from 'better-sqlite3';
import { compareCodePoints } from '../../core/code-points.js';
import { BatchPacker, type PackedBatch } from './row-batch.js';

/** What to read, and in what batches. */
export interface ReadJob {
  /** The step rows in key order: the values, then the key, then the rowid. */
  steps: TableQuery;
  /** The workflow rows: their keys and rowids in key order, then each row's values by rowid. */
  workflows: TableQuery & { keysSql: string };
  /** Groups per batch, or fewer when they reach `batchRows` rows. */
  batchGroups: number;
  batchRows: number;
}

export interface TableQuery {
  /** The rows (steps), or one row by its rowid (workflows). */
  sql: string;
  /** Values per row. */
  width: number;
  /** The position of the JSON spec, whose text is read again as bytes when it shows U+FFFD. */
  spec: number;
  /** `SELECT CAST(spec AS BLOB) … WHERE rowid = ?` */
  bytesSql: string;
}

/** Rows of a statement, each `[...values, key, rowid]`, checked to come in code-point order of their keys. */
function* inKeyOrder(rows: Iterable<unknown[]>, keyAt: number): Generator<unknown[]> {
  let last: string | null = null;
  for (const row of rows) {
    const key = row[keyAt] as string | null;
    if (key !== null && last !== null && compareCodePoints(key, last) < 0) {
      throw new Error('SQLite returned the rows out of code-point order (a key that is not UTF-8 text)');
    }
    if (key !== null) last = key;
    yield row;
  }
}

/** Reads a JSON spec again as bytes where its text shows U+FFFD (bytes that are not UTF-8). */
function specReader(db: Database.Database, query: TableQuery): (row: unknown[], rowid: unknown) => unknown[] {
  const bytes = db.prepare(query.bytesSql).pluck();
  return (row, rowid) => {
    const spec = row[query.spec];
    if (typeof spec === 'string' && spec.includes('\uFFFD')) row[query.spec] = bytes.get(rowid);
    return row;
  };
}

/** The step rows in key order. */
function* stepRows(db: Database.Database, steps: TableQuery): Generator<unknown[]> {
  const checked = specReader(db, steps);
  const rows = db.prepare(steps.sql).raw(true).iterate() as Iterable<unknown[]>;
  for (const row of inKeyOrder(rows, steps.width)) yield checked(row, row[steps.width + 1]);
}

/** The workflow keys in order, each `[key, rowid]`, and a reader of the row of a rowid. */
function workflowRows(
  db: Database.Database,
  workflows: ReadJob['workflows'],
): { keys: Generator<unknown[]>; row: (rowid: unknown) => unknown[] } {
  const checked = specReader(db, workflows);
  const one = db.prepare(workflows.sql).raw(true);
  return {
    keys: inKeyOrder(db.prepare(workflows.keysSql).raw(true).iterate() as Iterable<unknown[]>, 0),
    row: (rowid) => checked(one.get(rowid) as unknown[], rowid),
  };
}

/** Joins the step rows with the workflow rows, both in key order, a batch of groups at a time. */
export function* orderedBatches(db: Database.Database, job: ReadJob): Generator<PackedBatch> {
  const packer = new BatchPacker();
  const workflows = workflowRows(db, job.workflows);
  let workflow = workflows.keys.next();
  let current: string | null | undefined;
  let groupWorkflows = 0;
  let groupSteps = 0;
  const full = () => packer.groups >= job.batchGroups || packer.rows >= job.batchRows;
  try {
    for (const step of stepRows(db, job.steps)) {
      const key = step[job.steps.width] as string | null;
      const id = key === '' ? null : key;
      if (id !== current) {
        if (current !== undefined) packer.endGroup(groupWorkflows, groupSteps);
        if (full()) yield packer.take();
        current = id;
        groupWorkflows = 0;
        groupSteps = 0;
        while (id !== null && !workflow.done && compareCodePoints(workflow.value[0] as string, id) < 0)
          workflow = workflows.keys.next();
        while (id !== null && !workflow.done && workflow.value[0] === id) {
          packer.add(workflows.row(workflow.value[1]), job.workflows.width);
          groupWorkflows++;
          workflow = workflows.keys.next();
        }
      }
      packer.add(step, job.steps.width);
      groupSteps++;
    }
    if (current !== undefined) packer.endGroup(groupWorkflows, groupSteps);
    if (packer.rows > 0) yield packer.take();
  } finally {
    workflows.keys.return(undefined);
  }
}
