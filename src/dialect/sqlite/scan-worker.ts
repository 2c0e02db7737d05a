/**
 * The reading thread of an ordered scan (see `ordered-scan.ts`): on a read-only connection of its
 * own, in one read transaction, it walks the step rows in `workflow_id` order along its index,
 * joins each id with the rows of the workflow of that uid (their keys sorted, each row then read
 * by rowid), and sends the groups batch by batch. Meanwhile the run's thread plans the batches
 * before: reading and planning use both cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { compareCodePoints } from '../../core/code-points.js';
import { BatchPacker } from './row-batch.js';

/** What the thread reads and how. */
export interface ScanJob {
  file: string;
  busyTimeoutMs: number;
  countSql: string;
  /** The step rows in key order: the sent values, then the key, then the rowid. */
  steps: TableQuery;
  /** The workflow rows: their keys and rowids in key order, then each row's values by rowid. */
  workflows: TableQuery & { keysSql: string };
  /** Groups per batch, or fewer when they reach `batchRows` rows. */
  batchGroups: number;
  batchRows: number;
  /** Batches sent and not yet taken, at most. */
  ahead: number;
  /** Int32: [0] batches in flight, [1] set to 1 when the reader must stop. */
  control: SharedArrayBuffer;
}

export interface TableQuery {
  /** The rows (steps), or one row by its rowid (workflows). */
  sql: string;
  /** Values sent per row. */
  width: number;
  /** The position of the JSON spec, whose text is read again as bytes when it shows U+FFFD. */
  spec: number;
  /** `SELECT CAST(spec AS BLOB) … WHERE rowid = ?` */
  bytesSql: string;
}

export type ScanMessage =
  | { kind: 'count'; steps: number }
  | { kind: 'batch'; batch: ReturnType<BatchPacker['take']> }
  | { kind: 'done' }
  | { kind: 'error'; message: string; code?: string };

const job = workerData as ScanJob;
const control = new Int32Array(job.control);
const send = (message: ScanMessage) => parentPort!.postMessage(message);

/** Waits while the planner has enough batches; false when it asks the reader to stop. */
function waitForRoom(): boolean {
  for (;;) {
    if (Atomics.load(control, 1) !== 0) return false;
    const inFlight = Atomics.load(control, 0);
    if (inFlight < job.ahead) return true;
    Atomics.wait(control, 0, inFlight, 1000);
  }
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

/** The step rows in key order, as sent. */
function* stepRows(db: Database.Database): Generator<unknown[]> {
  const { steps } = job;
  const checked = specReader(db, steps);
  const rows = db.prepare(steps.sql).raw(true).iterate() as Iterable<unknown[]>;
  for (const row of inKeyOrder(rows, steps.width)) yield checked(row, row[steps.width + 1]);
}

/** The workflow keys in order, each `[key, rowid]`, and a reader of the row of a rowid. */
function workflowRows(db: Database.Database): { keys: Generator<unknown[]>; row: (rowid: unknown) => unknown[] } {
  const { workflows } = job;
  const checked = specReader(db, workflows);
  const one = db.prepare(workflows.sql).raw(true);
  return {
    keys: inKeyOrder(db.prepare(workflows.keysSql).raw(true).iterate() as Iterable<unknown[]>, 0),
    row: (rowid) => checked(one.get(rowid) as unknown[], rowid),
  };
}

/** Joins the sorted step rows with the sorted workflow rows, and sends them a batch at a time. */
function readGroups(db: Database.Database): boolean {
  const packer = new BatchPacker();
  const workflows = workflowRows(db);
  let workflow = workflows.keys.next();
  let current: string | null | undefined;
  let groupWorkflows = 0;
  let groupSteps = 0;
  const endGroup = (last = false): boolean => {
    if (current !== undefined) packer.endGroup(groupWorkflows, groupSteps);
    if (packer.rows === 0 || (packer.groups < job.batchGroups && packer.rows < job.batchRows && !last)) return true;
    if (!waitForRoom()) return false;
    Atomics.add(control, 0, 1);
    send({ kind: 'batch', batch: packer.take() });
    return true;
  };
  for (const step of stepRows(db)) {
    const key = step[job.steps.width] as string | null;
    const id = key === '' ? null : key;
    if (id !== current) {
      if (!endGroup()) return false;
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
  workflows.keys.return(undefined);
  return endGroup(true);
}

function run(): void {
  const db = new Database(job.file, { readonly: true, fileMustExist: true, timeout: job.busyTimeoutMs });
  // Each page is read once, in order: the system's file cache serves as well as a large page cache.
  db.pragma('cache_size = -2000');
  let finished: boolean;
  try {
    // One snapshot for the count and every row.
    db.exec('BEGIN');
    send({ kind: 'count', steps: Number(db.prepare(job.countSql).pluck().get()) });
    finished = readGroups(db);
    db.exec('COMMIT');
  } finally {
    db.close();
  }
  // Only once the file is let go: the run's commit that follows needs every reader gone.
  if (finished) send({ kind: 'done' });
}

try {
  run();
} catch (e) {
  send({ kind: 'error', message: (e as Error).message, code: (e as { code?: string }).code });
}
