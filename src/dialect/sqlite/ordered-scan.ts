import { qualified, type OrderedScan, type OrderedScanRequest, type SelectItem, type TableRef } from '../types.js';
import { orderedBatches } from './ordered-batches.js';
import { unpack } from './row-batch.js';
import type { ScanJob } from './scan-worker.js';
import { WorkerScan } from './worker-scan.js';
import type { SqliteReads } from './reads.js';
import type { SqliteSession } from './session.js';

/** Step rows (by the last rowid) from which a table is read on a thread of its own. */
const THREAD_FROM_ROWS = 20_000;

/** Rows per batch at most, whatever the groups: a batch is a few megabytes. */
const ROWS_PER_BATCH = 20_000;

/** Batches the reader may send ahead of the planner: enough to keep both threads busy, and memory flat. */
const AHEAD = 4;

/**
 * An ordered scan of a SQLite file (see `ReadSql.orderedScan`), where the file allows one: UTF-8
 * text (whose byte order is code-point order), tables with rowids, and an index that gives the
 * step rows in `workflow_id` order (without one, SQLite would sort a copy of the whole table).
 * Undefined otherwise.
 */
export async function openOrderedScan(
  session: SqliteSession,
  reads: SqliteReads,
  request: OrderedScanRequest,
): Promise<OrderedScan | undefined> {
  const here = scanJob(session, reads, request, '');
  if (!(await scannable(session, [request.step, request.workflow], here.steps.sql))) return undefined;
  const [last] = await session.query<{ n: number | null }>('SELECT max(rowid) AS n FROM ??', [qualified(request.step)]);
  if ((last?.n ?? 0) < THREAD_FROM_ROWS) return inThread(session, here, request);
  const job = scanJob(session, reads, request, '/* reading thread */ ');
  // The reading thread's statements, as it sends them (the bytes and rowid reads once for all).
  for (const sql of [job.countSql, job.steps.sql, job.workflows.keysSql, job.workflows.sql]) session.trace(sql);
  const scan = new WorkerScan(job, request);
  try {
    await scan.start();
  } catch (e) {
    await scan.close();
    throw e;
  }
  return scan;
}

/**
 * A small table (the controller's usual one) read on the run's own connection, in its transaction:
 * starting a thread would cost more than it saves. Read whole before planning: an apply stages
 * its writes on this connection between batches, which an open cursor would not allow.
 */
async function inThread(
  session: SqliteSession,
  job: ReturnType<typeof scanJob>,
  request: OrderedScanRequest,
): Promise<OrderedScan> {
  const [count] = await session.query<{ n: number }>(job.countSql);
  for (const sql of [job.steps.sql, job.workflows.keysSql, job.workflows.sql]) session.trace(sql);
  const { workflowSelect, stepSelect } = request;
  const read = [...orderedBatches(session.db, job)];
  return {
    steps: Number(count?.n ?? 0),
    async *batches() {
      for (const batch of read) yield unpack(batch, workflowSelect.length, stepSelect.length);
    },
    close: async () => undefined,
  };
}

async function scannable(session: SqliteSession, tables: TableRef[], stepSql: string): Promise<boolean> {
  if (session.file === '' || session.file === ':memory:') return false;
  const [encoding] = await session.query<{ encoding: string }>('PRAGMA encoding');
  if (encoding?.encoding !== 'UTF-8') return false;
  for (const table of tables) {
    // A WITHOUT ROWID table has no rowid column (the scan reads rows by rowid).
    const [info] = await session.query<{ wr: number }>('SELECT wr FROM pragma_table_list(?)', [table.table]);
    if (!info || info.wr !== 0) return false;
  }
  const plan = await session.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${stepSql}`);
  if (plan.some((step) => step.detail.includes('TEMP B-TREE'))) return false;
  return onlyText(session, tables);
}

/**
 * Whether every id is text or NULL, so that the index order is the byte order of the ids' text:
 * a number or bytes stored in an id column would sort apart from the texts. SQLite orders every
 * value by its kind first (numbers, then texts, then bytes), so the step ids are all texts when
 * their least and their greatest are: two lookups at the ends of the `workflow_id` index, where
 * a look at every id would read the whole index. The workflow table, a tenth of the size, has no
 * index whose first column is its uid: each of its uids is looked at.
 */
async function onlyText(session: SqliteSession, [step, workflow]: TableRef[]): Promise<boolean> {
  const [found] = await session.query<{ least: string; greatest: string; other: number }>(
    'SELECT (SELECT typeof(min(workflow_id)) FROM ??) AS least, (SELECT typeof(max(workflow_id)) FROM ??) AS greatest, ' +
      "EXISTS (SELECT 1 FROM ?? WHERE typeof(uid) <> 'text') AS other",
    [qualified(step!), qualified(step!), qualified(workflow!)],
  );
  const textOrNone = (kind: string | undefined) => kind === 'text' || kind === 'null';
  return textOrNone(found?.least) && textOrNone(found?.greatest) && found?.other === 0;
}

/** The statements of an ordered read; `mark` starts each of them (it names the thread they are sent from in the SQL log). */
function scanJob(
  session: SqliteSession,
  reads: SqliteReads,
  request: OrderedScanRequest,
  mark: string,
): Omit<ScanJob, 'control'> {
  const step = session.quote(qualified(request.step));
  const workflow = session.quote(qualified(request.workflow));
  const columns = (select: SelectItem[]) => {
    const list = reads.selectList(select);
    return session.compile(list.template, list.bindings).sql;
  };
  const bytes = (table: string) => `SELECT CAST(spec AS BLOB) FROM ${table} WHERE rowid = ?`;
  const specOf = (select: SelectItem[]) => select.findIndex((item) => item.read === 'json');
  return {
    file: session.file,
    busyTimeoutMs: session.busyTimeoutMs,
    countSql: `${mark}SELECT COUNT(*) AS n FROM ${step}`,
    // Along the workflow_id index: the table's pages in the order its rows were written for one
    // workflow after another, where lookups of 500 ids at a time jump all over the file.
    steps: {
      sql: `${mark}SELECT ${columns(request.stepSelect)}, CAST(workflow_id AS TEXT), rowid FROM ${step} ORDER BY workflow_id`,
      width: request.stepSelect.length,
      spec: specOf(request.stepSelect),
      bytesSql: bytes(step),
    },
    // Only the keys are sorted (the uid is no index's first column): a few megabytes at a million rows.
    // Byte order of UTF-8 text is code-point order: the order the run compares ids in.
    workflows: {
      keysSql:
        `${mark}SELECT CAST(uid AS TEXT), rowid FROM ${workflow} WHERE uid IS NOT NULL ` +
        'ORDER BY CAST(uid AS TEXT) COLLATE BINARY, CAST(version AS TEXT) COLLATE BINARY',
      sql: `${mark}SELECT ${columns(request.workflowSelect)} FROM ${workflow} WHERE rowid = ?`,
      width: request.workflowSelect.length,
      spec: specOf(request.workflowSelect),
      bytesSql: bytes(workflow),
    },
    batchGroups: request.batchGroups,
    batchRows: ROWS_PER_BATCH,
    ahead: AHEAD,
  };
}
