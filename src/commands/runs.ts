import { randomUUID } from 'node:crypto';
import { ExitCode } from '../errors.js';
import { Bookkeeping } from '../migrate/bookkeeping.js';
import { emptyPlan } from '../migrate/report.js';
import { runListing } from '../migrate/run-history.js';
import { readOnly, result, schemaOf, type RunResult, type Session } from './context.js';

/** The run table as the operator reads it: every recorded run, oldest first; never writes. */
export async function runs(session: Session): Promise<RunResult> {
  const book = new Bookkeeping(session.adapter, await schemaOf(session));
  const ctx = { ...session, runId: randomUUID(), notes: await session.adapter.notes() };
  const recorded = await readOnly(session.adapter, () => book.listRuns());
  if (recorded.length === 0)
    ctx.notes.push('no run recorded: the tool has not written to this database (or it was cleaned up)');
  return result(ctx, emptyPlan(), 'listed', ExitCode.ok, { runs: runListing(recorded) });
}
