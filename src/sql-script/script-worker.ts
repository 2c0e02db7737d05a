/**
 * The thread that writes a SQL script (see `script-thread.ts`): it hashes the step rows, writes
 * each workflow row's statements and keeps the plan's fingerprint, on the other core, while the
 * run's thread plans.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ToolError } from '../errors.js';
import type { RunValues } from './script-dialect.js';
import { scriptDialect, ScriptWriter, type ScriptBatch, type ScriptJob } from './script-writer.js';

export interface ScriptThreadJob extends ScriptJob {
  /** Int32: [0] batches sent and not yet written, [1] set to 1 once the thread has failed. */
  control: SharedArrayBuffer;
}

export type ToScript =
  { kind: 'batch'; batch: ScriptBatch } | { kind: 'end' } | { kind: 'commit'; record: RunValues; planLines: string };

export type FromScript =
  | { kind: 'planned'; rows: number; sum: string; fingerprint: string }
  | { kind: 'committed' }
  | { kind: 'error'; message: string; tool: boolean; code?: string };

const job = workerData as ScriptThreadJob;
const control = new Int32Array(job.control);
const port = parentPort!;
const post = (message: FromScript) => port.postMessage(message);
let writer: ScriptWriter | undefined;

/** The first failure ends the script: the file is removed, and the run's thread told. */
function fail(e: unknown): void {
  if (Atomics.load(control, 1) === 1) return;
  Atomics.store(control, 1, 1);
  Atomics.notify(control, 0);
  try {
    writer?.discard();
  } catch {
    // The run's thread removes the file too.
  }
  const error = e as NodeJS.ErrnoException;
  post({ kind: 'error', message: error.message, tool: e instanceof ToolError, code: error.code });
  port.close();
}

const started = scriptDialect(job.dialect).then(
  (dialect) => (writer = new ScriptWriter(job, dialect)),
  (e: unknown) => fail(e),
);

port.on('message', (message: ToScript) => {
  // Messages are handled in the order they came, each once the writer is there.
  void started.then(() => handle(message));
});

function handle(message: ToScript): void {
  try {
    if (Atomics.load(control, 1) === 1 || !writer) return;
    if (message.kind === 'batch') writer.add(message.batch);
    else if (message.kind === 'end') {
      const { rows, sum, fingerprint } = writer.planned();
      post({ kind: 'planned', rows, sum: String(sum), fingerprint });
    } else {
      writer.commit(message.record, message.planLines);
      post({ kind: 'committed' });
      port.close();
    }
  } catch (e) {
    fail(e);
  } finally {
    if (message.kind === 'batch') {
      Atomics.sub(control, 0, 1);
      Atomics.notify(control, 0);
    }
  }
}
