import { randomUUID } from 'node:crypto';
import { ExitCode } from '../errors.js';
import { Bookkeeping } from '../migrate/bookkeeping.js';
import { emptyPlan } from '../migrate/report.js';
import { undoableRuns } from '../migrate/run-history.js';
import {
  backupBeforeWriting,
  blockedResult,
  confirmed,
  result,
  schemaOf,
  type RunResult,
  type Session,
} from './context.js';

/** Cleanup: removes the tool's own tables once no rollback is wanted any more. */
export async function cleanup(session: Session): Promise<RunResult> {
  const { req, adapter } = session;
  const book = new Bookkeeping(adapter, await schemaOf(session));
  const ctx = { ...session, runId: randomUUID(), notes: await adapter.notes() };
  const runs = await book.listRuns();
  if (!(await book.exists())) {
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, { cleanup: { dropped: [] } });
  }
  const undoable = undoableRuns(runs).length;
  if (req.dryRun) {
    ctx.notes.push(`would remove the tool's tables; ${undoable} run(s) could then no longer be rolled back`);
    return result(ctx, emptyPlan(), 'planned', ExitCode.ok, { cleanup: { dropped: [] } });
  }
  const question =
    'Remove every stepcfg_migrate_* table, the kept copies of dropped step tables (their rows and labels) included? ' +
    `${undoable} run(s) can then no longer be rolled back.`;
  if (!confirmed(await req.confirm(question))) {
    return blockedResult(ctx, emptyPlan(), ['cleanup needs --yes when there is no terminal to confirm on']);
  }
  await backupBeforeWriting(ctx);
  if (adapter.transactionalDdl) await adapter.begin('write');
  const dropped = await book.dropAll();
  if (adapter.transactionalDdl) await adapter.commit();
  return result(ctx, emptyPlan(), 'done', ExitCode.ok, { cleanup: { dropped } });
}
