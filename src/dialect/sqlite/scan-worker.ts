/**
 * The reading thread of an ordered scan of a large table (see `ordered-scan.ts`): the ordered read
 * of `ordered-batches.ts` on a read-only connection of its own, in one read transaction, its
 * batches sent to the run's thread, which plans the ones before meanwhile: reading and planning
 * use both cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { orderedBatches, type ReadJob } from './ordered-batches.js';
import type { PackedBatch } from './row-batch.js';

/** What the thread reads, and how it hands it over. */
export interface ScanJob extends ReadJob {
  file: string;
  busyTimeoutMs: number;
  countSql: string;
  /** Batches sent and not yet taken, at most. */
  ahead: number;
  /** Int32: [0] batches in flight, [1] set to 1 when the reader must stop. */
  control: SharedArrayBuffer;
}

export type ScanMessage =
  | { kind: 'count'; steps: number }
  | { kind: 'batch'; batch: PackedBatch }
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

/** Sends every batch as the planner makes room for it; false when it was asked to stop. */
function sendBatches(db: Database.Database): boolean {
  for (const batch of orderedBatches(db, job)) {
    if (!waitForRoom()) return false;
    Atomics.add(control, 0, 1);
    send({ kind: 'batch', batch });
  }
  return true;
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
    finished = sendBatches(db);
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
