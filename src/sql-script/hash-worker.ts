/**
 * The hashing thread of a script's step-table check (see `step-fingerprint.ts`): it hashes the
 * row texts the run's thread sends, on the other core, and answers with their count and sum.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RowHashSum, type RowHash } from './row-hash.js';

/** What the thread hashes with, and the count of batches sent and not yet hashed (Int32 [0]). */
export interface HashJob {
  algorithm: RowHash;
  control: SharedArrayBuffer;
}

export type HashRequest = { kind: 'texts'; texts: string[] } | { kind: 'end' };
export type HashAnswer = { kind: 'sum'; rows: number; sum: string };

const job = workerData as HashJob;
const control = new Int32Array(job.control);
const sum = new RowHashSum(job.algorithm);

parentPort!.on('message', (request: HashRequest) => {
  if (request.kind === 'end') {
    parentPort!.postMessage({ kind: 'sum', rows: sum.rows, sum: String(sum.sum) } satisfies HashAnswer);
    parentPort!.close();
    return;
  }
  for (const text of request.texts) sum.add(text);
  Atomics.sub(control, 0, 1);
  Atomics.notify(control, 0);
});
