import type { Worker } from 'node:worker_threads';
import type { StepRow } from '../core/types.js';
import { startThread } from '../threads.js';
import type { HashAnswer, HashJob, HashRequest } from './hash-worker.js';
import { RowHashSum, type HashSum, type RowHash } from './row-hash.js';

/** Rows hashed on the run's thread before the hashing thread starts: a small table costs no thread. */
const LOCAL_ROWS = 20_000;
/** Characters of row texts sent to the hashing thread at once. */
const BATCH_CHARS = 1 << 20;
/** Batches sent and not yet hashed, at most: the run waits beyond that, so memory stays flat. */
const AHEAD = 8;
/** How long the run waits for a hashing thread that hashes nothing before it gives up on it. */
const STALL_MS = 60_000;

/**
 * The step table as a plan read it, in a form the database can compute again: its row count and
 * the sum of a 40-bit hash of each row. Each row's columns are written as `N` (NULL) or
 * `T<bytes>:<text>`, one after the other, in the order of `columns`; the script builds the same
 * text in SQL. A sum needs no order, so rows are added as the plan meets them, and any row
 * added, removed or edited since changes it (but for a chance of one in 2^40).
 *
 * A hash costs a few microseconds a row, most of it the call, whatever the algorithm: at a million
 * rows, more than the rest of the plan's work on the run's thread. Past the first rows the texts
 * go to a thread of their own, which hashes them on the other core while the run plans.
 */
export class StepFingerprint {
  private readonly local: RowHashSum;
  private thread: HashThread | undefined;
  private batch: string[] = [];
  private batchChars = 0;

  constructor(
    private readonly algorithm: RowHash,
    /** Each column the script hashes, with the field of a step row that holds its text. */
    private readonly columns: readonly { column: string; field: keyof StepRow }[],
  ) {
    this.local = new RowHashSum(algorithm);
  }

  add(row: StepRow): void {
    let text = '';
    for (const { field } of this.columns) {
      const v = row[field] as string | null | undefined;
      text += v === null || v === undefined ? 'N' : `T${Buffer.byteLength(v, 'utf8')}:${v}`;
    }
    if (!this.thread && this.local.rows < LOCAL_ROWS) return this.local.add(text);
    this.batch.push(text);
    this.batchChars += text.length;
    if (this.batchChars >= BATCH_CHARS) this.send();
  }

  /** A row given as its column texts, `spec` as bytes (a spec that is not UTF-8 text, on SQLite). */
  addBytes(values: readonly (string | Buffer | null | undefined)[]): void {
    const parts: Buffer[] = [];
    for (const v of values) {
      if (v === null || v === undefined) parts.push(Buffer.from('N'));
      else {
        const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
        parts.push(Buffer.from(`T${bytes.length}:`), bytes);
      }
    }
    this.local.add(Buffer.concat(parts));
  }

  /** The count and sum of every row added. */
  async finish(): Promise<HashSum> {
    if (this.batch.length > 0) this.send();
    const far = this.thread ? await this.thread.end() : { rows: 0, sum: 0n };
    this.thread = undefined;
    return { rows: this.local.rows + far.rows, sum: this.local.sum + far.sum };
  }

  /** Stops the hashing thread of a plan that goes no further. */
  close(): void {
    this.thread?.stop();
    this.thread = undefined;
  }

  private send(): void {
    this.thread ??= new HashThread(this.algorithm);
    this.thread.send(this.batch);
    this.batch = [];
    this.batchChars = 0;
  }
}

/** The hashing thread, seen from the run's. */
class HashThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private readonly answer: Promise<HashAnswer>;

  constructor(algorithm: RowHash) {
    const workerData: HashJob = { algorithm, control: this.control.buffer as SharedArrayBuffer };
    this.worker = startThread(import.meta.url, 'hash-worker', { workerData });
    this.answer = new Promise<HashAnswer>((resolve, reject) => {
      this.worker.once('message', resolve);
      this.worker.once('error', reject);
      this.worker.once('exit', () => reject(new Error('the hashing thread stopped')));
    });
    // Its failure is the run's when it asks for the sum, not before.
    this.answer.catch(() => undefined);
  }

  /** Sends a batch, once the thread is fewer than AHEAD batches behind. */
  send(texts: string[]): void {
    let waited = 0;
    for (;;) {
      const behind = Atomics.load(this.control, 0);
      if (behind < AHEAD) break;
      if (Atomics.wait(this.control, 0, behind, 1000) === 'timed-out' && (waited += 1000) >= STALL_MS)
        throw new Error('the hashing thread stopped hashing');
    }
    Atomics.add(this.control, 0, 1);
    this.worker.postMessage({ kind: 'texts', texts } satisfies HashRequest);
  }

  async end(): Promise<HashSum> {
    this.worker.postMessage({ kind: 'end' } satisfies HashRequest);
    const answer = await this.answer;
    return { rows: answer.rows, sum: BigInt(answer.sum) };
  }

  stop(): void {
    this.worker.unref();
    void this.worker.terminate();
  }
}
