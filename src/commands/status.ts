import { ExitCode } from '../errors.js';
import { runListing, staleRuns } from '../migrate/run-history.js';
import { openRun, readOnly, result, scan, type RunResult, type Session } from './context.js';
import { runLockFree } from './run-lock.js';

/** Status, for CI: what is left to migrate, judged strictly, and the recorded runs; never writes. */
export async function status(session: Session): Promise<RunResult> {
  const ctx = await openRun(session);
  const [plan, runs] = await readOnly(ctx.adapter, async () => [await scan(ctx), await ctx.book.listRuns()] as const);
  plan.summary.tableDropped = ctx.droppedBy !== null;
  const upToDate = plan.blockers.length === 0 && plan.summary.folded === 0;
  const exitCode = upToDate ? ExitCode.ok : ExitCode.blocked;
  // A `running` record whose run is gone (killed, its lock let go) is listed as `interrupted`.
  const stale = runs.some((r) => r.status === 'running')
    ? staleRuns(runs, session.req.origin, await runLockFree(session).catch(() => undefined))
    : [];
  return result(ctx, plan, upToDate ? 'up-to-date' : 'work-left', exitCode, { runs: runListing(runs, stale) });
}
