import { randomUUID } from 'node:crypto';
import { ExitCode } from '../errors.js';
import { stepTableAbsent } from '../migrate/preflight.js';
import { emptyPlan } from '../migrate/report.js';
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
import type { Entry } from '../plan-file/entry.js';
import { foldWitness } from '../plan-file/witness.js';
import { writingPlan } from './planned.js';

/**
 * The dry run: one read-only transaction, no lock, nothing created; the plan as an apply would
 * find it. With `--out`, every row it reads also goes into the plan file.
 */
export async function plan(session: Session): Promise<RunResult> {
  const { sqlOut } = session.req;
  if (sqlOut) {
    // Where apply would fold nothing there is no script: the operator is told so, not left to
    // find the file missing.
    const noScript = `no SQL script written to ${sqlOut}`;
    const absent = await absentStepTable(session);
    if (absent) {
      absent.report.notes.push(`${noScript}: there is nothing to migrate`);
      return absent;
    }
    const ctx = await openRun(session);
    if (ctx.droppedBy) {
      ctx.notes.push(
        `${noScript}: ${ctx.req.tables.step} was dropped by run ${ctx.droppedBy.id}, and apply folds nothing more`,
      );
      return planOf(ctx);
    }
    // Loaded only for a script: a plain dry run never loads it.
    const { writeSqlScript } = await import('../sql-script/write-script.js');
    return writeSqlScript(ctx, sqlOut);
  }
  return writingPlan(
    session.req,
    'fold',
    async (sink) => (await absentStepTable(session)) ?? planOf(await openRun(session), sink),
  );
}

/**
 * `--if-exists`: a step table that is not there, next to its workflow table (a fresh install of
 * the new controller, or a database migrated and cleaned up), is nothing to migrate. Undefined
 * when the run goes on as usual (without the flag, preflight says what is missing).
 */
export async function absentStepTable(session: Session): Promise<RunResult | undefined> {
  const { req, adapter } = session;
  if (!req.ifExists || !(await stepTableAbsent(adapter, req.tables))) return undefined;
  const why = `nothing to migrate: there is no table ${req.tables.step} (the ${req.tables.workflow} table is there; --if-exists)`;
  const notes = [...(await adapter.notes()), why];
  return result({ req, runId: randomUUID(), notes }, emptyPlan(), 'nothing-to-do', ExitCode.ok);
}

/** The plan of an open run, with what would block an apply (and its drop, with `--drop-table`). */
export async function planOf(ctx: Context, sink?: (e: Entry) => void): Promise<RunResult> {
  const witness = sink && foldWitness(sink);
  const found = await readOnly(ctx.adapter, () => scan(ctx, { witness }));
  found.summary.tableDropped = ctx.droppedBy !== null;
  const blockers = [...found.blockers, ...(ctx.req.dropTable ? await dropBlockers(ctx, found) : [])];
  if (blockers.length > 0) return blockedResult(ctx, found, blockers);
  return result(ctx, found, 'planned', ExitCode.ok);
}
