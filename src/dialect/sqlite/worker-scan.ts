import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { Inbox, startThread } from '../../threads.js';
import type { OrderedScan, OrderedScanRequest, RowGroup } from '../types.js';
import { unpack } from './row-batch.js';
import type { ScanJob, ScanMessage } from './scan-worker.js';

/** The reading thread. */
function startWorker(workerData: ScanJob): Worker {
  // The reader's garbage is rows on their way out. A young generation of 8 MB was too small for
  // the rows of the batch being packed, which each collection then copied, and copied again:
  // at a million rows a third of the thread's time. At 16 MB most of them are gone by the next
  // collection (the thread's collections cost a third to a half of that), for about the same
  // peak memory of the process.
  return startThread(import.meta.url, 'scan-worker', { workerData, resourceLimits: { maxYoungGenerationSizeMb: 16 } });
}

/** The reading thread, seen from the run's: its count, then its batches, in order. */
export class WorkerScan implements OrderedScan {
  steps = 0;
  private readonly control = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;
  private readonly inbox = new Inbox<ScanMessage>();
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
    this.inbox.put(message);
  }

  private next(): Promise<ScanMessage> {
    return this.inbox.take();
  }
}

/** A reader's error as the run's: with SQLite's code, so that it reads as any other SQLite error. */
function failure(message: ScanMessage): Error {
  if (message.kind !== 'error') return new Error(`the reading thread sent ${message.kind} out of turn`);
  return Object.assign(new Error(message.message), { code: message.code });
}
