import { ExitCode } from '../errors.js';
import {
  blockedResult,
  openRun,
  readOnly,
  result,
  scan,
  type Context,
  type RunResult,
  type Session,
} from './context.js';
import { dropBlockers } from './drop.js';

/** The dry run: one read-only transaction, no lock, nothing created; the plan as an apply would find it. */
export async function plan(session: Session): Promise<RunResult> {
  return planOf(await openRun(session));
}

/** The plan of an open run, with what would block an apply (and its drop, with `--drop-table`). */
export async function planOf(ctx: Context): Promise<RunResult> {
  const found = await readOnly(ctx.adapter, () => scan(ctx));
  found.summary.tableDropped = ctx.droppedBy !== null;
  const blockers = [...found.blockers, ...(ctx.req.dropTable ? await dropBlockers(ctx, found) : [])];
  if (blockers.length > 0) return blockedResult(ctx, found, blockers);
  return result(ctx, found, 'planned', ExitCode.ok);
}
