import type { KeepGuard, TableRef } from '../dialect/adapter.js';
import { NOTHING_WRITTEN, ToolError } from '../errors.js';

/**
 * The run's judgement of a write: each count must be the rows its statement was given. One off, or
 * one the driver did not report, means workflow rows came or went since the plan: the run gives up.
 */
export function expectWritten(given: number, written: (number | null)[]): void {
  if (written.some((n) => n !== given)) throw new ToolError(`workflow rows changed during the run; ${NOTHING_WRITTEN}`);
}

/** The guard of a drop: the step table must still hold the rows the run planned with. */
export function sameRows(ref: TableRef, rows: number): KeepGuard {
  return { ref, accepts: (found) => found === rows };
}
