import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import {
  qualified,
  type OrderedScan,
  type OrderedScanRequest,
  type RowGroup,
  type SelectItem,
  type TableRef,
} from '../types.js';
import { unpack } from './row-batch.js';
import type { ScanJob, ScanMessage } from './scan-worker.js';
import type { SqliteReads } from './reads.js';
import type { SqliteSession } from './session.js';

/** Rows per batch at most, whatever the groups: a batch is a few megabytes. */
const ROWS_PER_BATCH = 20_000;

/** Batches the reader may send ahead of the planner: enough to keep both threads busy, and memory flat. */
const AHEAD = 4;

/**
 * The reading thread, from the compiled module beside this one. The tests run the sources through
 * tsx instead: the thread then registers tsx's loader before it loads the TypeScript module.
 */
function startWorker(workerData: ScanJob): Worker {
  // The reader's garbage is rows on their way out: a small young generation collects it as
  // cheaply, and keeps the thread's memory to a few megabytes.
  const options = { workerData, resourceLimits: { maxYoungGenerationSizeMb: 8 } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./scan-worker.js', import.meta.url), options);
  const source = JSON.stringify(new URL('./scan-worker.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); })`;
  return new Worker(boot, { ...options, eval: true });
}

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
  const job = scanJob(session, reads, request);
  if (!(await scannable(session, [request.step, request.workflow], job.steps.sql))) return undefined;
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
 * a number or bytes stored in an id column would sort apart from the texts (the index of such a
 * column is read as a covering index, without the rows).
 */
async function onlyText(session: SqliteSession, [step, workflow]: TableRef[]): Promise<boolean> {
  const [found] = await session.query<{ other: number }>(
    "SELECT EXISTS (SELECT 1 FROM ?? WHERE typeof(workflow_id) NOT IN ('text', 'null')) " +
      "OR EXISTS (SELECT 1 FROM ?? WHERE typeof(uid) <> 'text') AS other",
    [qualified(step!), qualified(workflow!)],
  );
  return found?.other === 0;
}

function scanJob(session: SqliteSession, reads: SqliteReads, request: OrderedScanRequest): Omit<ScanJob, 'control'> {
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
    countSql: `SELECT COUNT(*) FROM ${step}`,
    // Along the workflow_id index: the table's pages in the order its rows were written for one
    // workflow after another, where lookups of 500 ids at a time jump all over the file.
    steps: {
      sql: `SELECT ${columns(request.stepSelect)}, CAST(workflow_id AS TEXT), rowid FROM ${step} ORDER BY workflow_id`,
      width: request.stepSelect.length,
      spec: specOf(request.stepSelect),
      bytesSql: bytes(step),
    },
    // Only the keys are sorted (the uid is no index's first column): a few megabytes at a million rows.
    // Byte order of UTF-8 text is code-point order: the order the run compares ids in.
    workflows: {
      keysSql:
        `SELECT CAST(uid AS TEXT), rowid FROM ${workflow} WHERE uid IS NOT NULL ` +
        'ORDER BY CAST(uid AS TEXT) COLLATE BINARY, CAST(version AS TEXT) COLLATE BINARY',
      sql: `SELECT ${columns(request.workflowSelect)} FROM ${workflow} WHERE rowid = ?`,
      width: request.workflowSelect.length,
      spec: specOf(request.workflowSelect),
      bytesSql: bytes(workflow),
    },
    batchGroups: request.batchGroups,
    batchRows: ROWS_PER_BATCH,
    ahead: AHEAD,
  };
}

/** The reading thread, seen from the run's: its count, then its batches, in order. */
class WorkerScan implements OrderedScan {
  steps = 0;
  private readonly control = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;
  private readonly messages: ScanMessage[] = [];
  private wake: (() => void) | undefined;
  private finished = false;

  constructor(
    job: Omit<ScanJob, 'control'>,
    private readonly request: OrderedScanRequest,
  ) {
    this.worker = startWorker({ ...job, control: this.control.buffer });
    this.exited = once(this.worker, 'exit');
    this.worker.on('message', (m: ScanMessage) => this.arrive(m));
    this.worker.on('error', (e: Error) => this.arrive({ kind: 'error', message: e.message }));
    // Whatever ends the reader before its last batch, the run is not left waiting for one.
    this.worker.on('exit', () => this.arrive({ kind: 'error', message: 'the reading thread stopped' }));
  }

  async start(): Promise<void> {
    const first = await this.next();
    if (first.kind !== 'count') throw failure(first);
    this.steps = first.steps;
  }

  async *batches(): AsyncIterable<RowGroup[]> {
    const { workflowSelect, stepSelect } = this.request;
    for (;;) {
      const message = await this.next();
      if (message.kind === 'done') {
        this.finished = true;
        return;
      }
      if (message.kind !== 'batch') throw failure(message);
      Atomics.sub(this.control, 0, 1);
      Atomics.notify(this.control, 0);
      yield unpack(message.batch, workflowSelect.length, stepSelect.length);
    }
  }

  async close(): Promise<void> {
    if (this.finished) {
      await this.exited;
      return;
    }
    // Stopped early (an error, a signal): the reader stops at its next batch; a sort still running
    // inside SQLite is not waited for, and does not keep the process alive.
    Atomics.store(this.control, 1, 1);
    Atomics.notify(this.control, 0);
    this.worker.unref();
    void this.worker.terminate();
  }

  private arrive(message: ScanMessage): void {
    this.messages.push(message);
    this.wake?.();
  }

  private async next(): Promise<ScanMessage> {
    while (this.messages.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.messages.shift() as ScanMessage;
  }
}

/** A reader's error as the run's: with SQLite's code, so that it reads as any other SQLite error. */
function failure(message: ScanMessage): Error {
  if (message.kind !== 'error') return new Error(`the reading thread sent ${message.kind} out of turn`);
  return Object.assign(new Error(message.message), { code: message.code });
}
