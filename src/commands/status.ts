import { ExitCode } from '../errors.js';
import { statusOf } from '../migrate/report.js';
import { runListing, staleRuns } from '../migrate/run-history.js';
import { openRun, readOnly, result, scan, type RunResult, type Session } from './context.js';
import { absentStepTable } from './plan.js';
import { runLockFree } from './run-lock.js';

/**
 * Status, for CI: what is left to migrate and the recorded runs; never writes. Judged by the
 * apply's policy when it is given (`--skip-invalid`, `--strict`, `--on-conflict`): the rows that
 * policy leaves are listed as left, not as work. Without flags, strictly.
 */
export async function status(session: Session): Promise<RunResult> {
  const absent = await absentStepTable(session);
  if (absent) return absent;
  const ctx = await openRun(session);
  const [plan, runs] = await readOnly(ctx.adapter, async () => [await scan(ctx), await ctx.book.listRuns()] as const);
  plan.summary.tableDropped = ctx.droppedBy !== null;
  const upToDate = plan.blockers.length === 0 && plan.summary.folded === 0;
  const outcome = upToDate ? 'up-to-date' : 'work-left';
  const exitCode = upToDate ? ExitCode.ok : ExitCode.blocked;
  // Without flags the policy is the apply's default: conflicts and invalid rows are work, orphans are left.
  const status = statusOf(plan, outcome, session.req.plan);
  // A `running` record whose run is gone (killed, its lock let go) is listed as `interrupted`.
  const stale = runs.some((r) => r.status === 'running')
    ? staleRuns(runs, session.req.origin, await runLockFree(session).catch(() => undefined))
    : [];
  return result(ctx, plan, outcome, exitCode, { runs: runListing(runs, stale), status });
}
