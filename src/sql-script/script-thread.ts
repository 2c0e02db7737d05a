import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { ToolError } from '../errors.js';
import { Inbox, startThread } from '../threads.js';
import type { RunValues } from './script-dialect.js';
import { temporaryName } from './script-file.js';
import type { FromScript, ScriptThreadJob, ToScript } from './script-worker.js';
import type { ScriptBatch, ScriptJob, ScriptPlan } from './script-writer.js';

/** Batches sent and not yet written, at most: the run waits beyond that, so memory stays flat. */
const AHEAD = 8;
/** How long the run waits for a thread that takes no batch before it gives up on it. */
const STALL_MS = 60_000;

/**
 * The thread that writes the script, seen from the run's: batches go to it as the plan is read
 * (the run waits while it is AHEAD batches behind), then the plan's numbers come back, then the
 * run record goes and the file is made whole — or the thread is stopped and the file removed.
 */
export class ScriptThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(8));
  private readonly tmp: string;
  private readonly worker: Worker;
  private readonly replies = new Inbox<FromScript>();

  constructor(job: Omit<ScriptJob, 'tmp'>) {
    this.tmp = temporaryName(job.file);
    const workerData: ScriptThreadJob = { ...job, tmp: this.tmp, control: this.control.buffer as SharedArrayBuffer };
    this.worker = startThread(import.meta.url, 'script-worker', { workerData });
    this.worker.on('message', (m: FromScript) => this.arrive(m));
    this.worker.on('error', (e: Error) => this.arrive({ kind: 'error', message: e.message, tool: false }));
    this.worker.on('exit', () => this.arrive({ kind: 'error', message: 'the script thread stopped', tool: false }));
  }

  /** Hands a batch over, once the thread is fewer than AHEAD batches behind; throws once it has failed. */
  send(batch: ScriptBatch): void {
    let waited = 0;
    for (;;) {
      if (Atomics.load(this.control, 1) === 1) throw new ScriptThreadFailed();
      const behind = Atomics.load(this.control, 0);
      if (behind < AHEAD) break;
      if (Atomics.wait(this.control, 0, behind, 1000) === 'timed-out' && (waited += 1000) >= STALL_MS)
        throw new Error('the script thread stopped taking rows');
    }
    Atomics.add(this.control, 0, 1);
    this.post({ kind: 'batch', batch });
  }

  /** The plan's numbers, once every batch is written. */
  async planned(): Promise<ScriptPlan> {
    this.post({ kind: 'end' });
    const reply = await this.reply();
    if (reply.kind !== 'planned') throw new Error(`the script thread sent ${reply.kind} out of turn`);
    return { rows: reply.rows, sum: BigInt(reply.sum), fingerprint: reply.fingerprint };
  }

  /** Writes the run record and the plan's lines, and makes the file whole under its name. */
  async commit(record: RunValues, planLines: string): Promise<void> {
    this.post({ kind: 'commit', record, planLines });
    const reply = await this.reply();
    if (reply.kind !== 'committed') throw new Error(`the script thread sent ${reply.kind} out of turn`);
  }

  /** The thread's own error, for a run that stopped because the thread had failed. */
  async failure(e: unknown): Promise<unknown> {
    if (!(e instanceof ScriptThreadFailed)) return e;
    try {
      await this.reply();
      return e;
    } catch (reason) {
      return reason;
    }
  }

  /** Stops the thread and removes the unfinished file. */
  async discard(): Promise<void> {
    this.worker.unref();
    await this.worker.terminate();
    rmSync(this.tmp, { force: true });
  }

  private post(message: ToScript): void {
    this.worker.postMessage(message);
  }

  private arrive(message: FromScript): void {
    this.replies.put(message);
  }

  /** The thread's next reply; its error as the run's. */
  private async reply(): Promise<FromScript> {
    const reply = await this.replies.take();
    if (reply.kind !== 'error') return reply;
    const error = reply.tool ? new ToolError(reply.message) : new Error(reply.message);
    throw Object.assign(error, reply.code ? { code: reply.code } : {});
  }
}

/** The run stops: the script thread has failed (its error comes through {@link ScriptThread.failure}). */
class ScriptThreadFailed extends Error {
  constructor() {
    super('the script thread failed');
  }
}
