import { randomUUID } from 'node:crypto';
import { restoreKeepingEdits } from '../core/merge.js';
import { qualified, type DialectAdapter, type KeptTable, type SpecWrite } from '../dialect/adapter.js';
import { ExitCode, NOTHING_WRITTEN, ToolError } from '../errors.js';
import { TARGET_KEY } from '../core/workflow-spec.js';
import { Bookkeeping, stillAsWritten, type RunRecord, type SpecBackup } from '../migrate/bookkeeping.js';
import { editedKeys } from '../migrate/drift.js';
import { emptyPlan, type DriftedRow, type RestoredRow, type RollbackResult } from '../migrate/report.js';
import { chooseRun, laterRuns, workflowsUpdated } from '../migrate/run-history.js';
import { firstOf, SpillingList } from '../migrate/spill-list.js';
import {
  backupBeforeWriting,
  blockedResult,
  openRun,
  readOnly,
  result,
  runRecord,
  schemaOf,
  whileRecordedRunning,
  type Context,
  type RunResult,
  type Session,
} from './context.js';
import { approval } from './approval.js';
import type { Entry } from '../plan-file/entry.js';
import { rollbackEntry } from '../plan-file/witness.js';
import { changedSincePlan, planFileRef, reviewedPlanCheck, writingPlan } from './planned.js';

/** What one pass over a run's backups found: the rows it restores (or would), and the drift. */
type Found = Pick<RollbackResult, 'workflowsRestored' | 'forced' | 'workflowsToRestore'> & {
  drifted: SpillingList<DriftedRow>;
  workflows?: SpillingList<RestoredRow>;
};

/** A kept table that comes back, with the rows its copy holds. */
type Returning = KeptTable & { rows: number };

const REFUSED = `rollback refused; ${NOTHING_WRITTEN}`;

/**
 * Rollback: undoes one applied run. Specs come back byte for byte, a dropped table and its labels
 * come back as they were, the run is marked rolled back; all in one transaction where DDL is
 * transactional. Where DDL commits on its own (MySQL/MariaDB) the tables come back first, and a
 * re-run finishes the rest.
 */
export async function rollback(session: Session): Promise<RunResult> {
  const { req } = session;
  // Nothing recorded (never applied, or cleaned up): no step table needed to say so.
  if (!(await new Bookkeeping(session.adapter, await schemaOf(session)).exists())) {
    if (req.runId !== undefined) {
      throw new ToolError(`no applied run "${req.runId}": this database has no run table`, ExitCode.usage);
    }
    const ctx = { req, runId: randomUUID(), notes: await session.adapter.notes() };
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, {
      rollback: summaryOf(null, {}, 'nothing to roll back'),
    });
  }
  const ctx = await openRun(session);
  // A dry run reads only: no lock, no run record, the same pass the real rollback makes first;
  // with `--out` every row it looks at goes into the plan file.
  if (req.dryRun) return writingPlan(req, 'rollback', (sink) => rollbackRun(ctx, sink));
  return whileRecordedRunning(ctx, async () => asPlanned(ctx, await rollbackRun(ctx)));
}

/**
 * A rollback from a reviewed plan that ends with nothing to roll back (the run was rolled back
 * since, or is gone) is not the reviewed rollback: exit 3.
 */
function asPlanned(ctx: Context, done: RunResult): RunResult {
  if (!ctx.req.fromPlan || done.report.outcome !== 'nothing-to-do') return done;
  const why = done.report.rollback?.message ?? 'nothing to roll back';
  const blockers = [
    `the plan ${ctx.req.fromPlan.path} rolls back run ${ctx.req.runId}, but now: ${why}; ${NOTHING_WRITTEN}`,
  ];
  return { exitCode: ExitCode.blocked, report: { ...done.report, outcome: 'blocked', blockers } };
}

/**
 * A rollback's summary: the run it undoes, what was found, with defaults for what was not. A
 * refused rollback restores nothing, whatever its pass counted.
 */
function summaryOf(
  run: RunRecord | null | undefined,
  found: Partial<RollbackResult>,
  message: string,
  refused = false,
): RollbackResult {
  const summary: RollbackResult = {
    run: run?.id ?? null,
    workflowsRestored: 0,
    drifted: [],
    forced: 0,
    tablesRestored: [],
    message,
    runId: run?.id ?? null,
    runStartedAt: run?.startedAt ?? null,
    runWorkflowsUpdated: run ? workflowsUpdated(run) : 0,
    runTableDropped: run?.tableDropped ?? false,
    workflowsToRestore: 0,
    tables: [],
    ...found,
    refused,
  };
  if (refused) Object.assign(summary, { workflowsRestored: 0, forced: 0, tablesRestored: [] });
  return summary;
}

/** The tables as the report names them: the names they come back under, and their rows. */
function tablesOf(todo: Returning[]): Pick<RollbackResult, 'tables' | 'tablesRestored'> {
  return {
    tables: todo.map((t) => ({ table: t.original.table, rows: t.rows })),
    tablesRestored: todo.map((t) => t.original.table),
  };
}

async function rollbackRun(ctx: Context, sink?: (e: Entry) => void): Promise<RunResult> {
  const runs = await ctx.book.listRuns();
  const run = chooseRun(runs, ctx.req.runId);
  const refused = (found: Partial<RollbackResult>, blockers: string[], message = REFUSED) =>
    blockedResult(ctx, emptyPlan(), blockers, { rollback: summaryOf(run, found, message, true) });
  if (!run)
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, {
      rollback: summaryOf(run, {}, 'nothing to roll back'),
    });
  if (run.status === 'rolled_back') {
    const message = `run ${run.id} was already rolled back (by run ${run.rolledBackBy} at ${run.rolledBackAt})`;
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, { rollback: summaryOf(run, {}, message) });
  }
  const later = laterRuns(runs, run);
  if (later.length > 0) {
    const newest = later.at(-1)!.id;
    return refused({}, [
      `run ${newest} applied after run ${run.id} and is not rolled back: roll back the later runs first, newest first`,
    ]);
  }
  const tables = await tablesToRestore(ctx.adapter, run.tableDropped ? ctx.book.keptTables(run) : []);
  if (tables.problems.length > 0) return refused(tablesOf(tables.todo), tables.problems);
  const otherTables = tablesUnlikePlan(ctx, tables.todo);
  if (otherTables) return refused(tablesOf(tables.todo), [otherTables]);
  // Drift is found before anything is written where the tables come back in commits of their own.
  if (ctx.req.dryRun || !ctx.adapter.transactionalDdl) {
    const dry = await dryRollback(ctx, run, tables.todo, sink ?? reviewedPlanCheck(ctx.req));
    if (ctx.req.dryRun || dry.exitCode !== ExitCode.ok) return dry;
  }
  const where = `${ctx.req.target.dialect} ${ctx.req.target.display}`;
  const question =
    `Roll back run ${run.id} on ${where}? Workflow specs it changed get their original text back` +
    `${tables.todo.length > 0 ? ', and the dropped tables come back' : ''}.`;
  // With a reviewed plan the preview is checked against it: a rollback that changed is not asked about.
  const preview = () => dryRollback(ctx, run, tables.todo, reviewedPlanCheck(ctx.req));
  const declined = await approval(ctx, { question, required: true, preview });
  if (declined) return declined;
  await backupBeforeWriting(ctx);
  return restoreAndRecord(ctx, run, tables.todo);
}

/**
 * The read-only pass before writing where it is needed: a dry run's whole answer, or (where the
 * tables must come back before the specs, in their own commits) drift found before anything is
 * restored. Undefined when the real rollback may go on.
 */
async function dryRollback(
  ctx: Context,
  run: RunRecord,
  todo: Returning[],
  watch?: ((e: Entry) => void) | PlanCheck,
): Promise<RunResult> {
  const sink = typeof watch === 'function' ? watch : watch?.sink;
  const found = await readOnly(ctx.adapter, () => restoreSpecs(ctx, run, false, sink));
  if (typeof watch === 'object' && !watch.holds()) return changedSince(ctx, run, todo);
  const blockers = driftBlockers(ctx, run, found);
  if (blockers.length > 0)
    return blockedResult(ctx, emptyPlan(), blockers, {
      rollback: summaryOf(run, { ...found, ...tablesOf(todo) }, REFUSED, true),
    });
  const names = todo.map((t) => t.original.table);
  const message =
    `would restore ${found.workflowsToRestore} workflow row(s)` +
    `${names.length > 0 ? ` and bring back ${names.join(', ')}` : ''}`;
  return result(ctx, emptyPlan(), 'planned', ExitCode.ok, {
    rollback: summaryOf(run, { ...found, ...tablesOf(todo) }, message),
  });
}

/** Why a rollback is refused for rows edited since the run (none with `--force`). */
function driftBlockers(ctx: Context, run: RunRecord, found: { drifted: RollbackResult['drifted'] }): string[] {
  if (found.drifted.length === 0 || ctx.req.force) return [];
  const shown = firstOf(found.drifted, 5).map((d) => d.uid);
  return [
    `${found.drifted.length} workflow row(s) changed after run ${run.id}: ${shown.join(', ')}` +
      `${found.drifted.length > 5 ? ', …' : ''} (--force restores their step_configurations and keeps their other edits)`,
  ];
}

/** The writing rollback: tables and specs back, the run marked rolled back, a record of this run. */
async function restoreAndRecord(ctx: Context, run: RunRecord, todo: Returning[]): Promise<RunResult> {
  const { adapter, book } = ctx;
  const restored = todo.map((t) => t.original.table);
  const tables = tablesOf(todo);
  const restoredFirst = !adapter.transactionalDdl && todo.length > 0;
  if (restoredFirst) await adapter.restoreTables(todo, run.restoreDdl);
  await adapter.begin('write');
  const check = reviewedPlanCheck(ctx.req);
  const found = await restoreSpecs(ctx, run, true, check?.sink);
  if (check && !check.holds()) {
    await adapter.rollback();
    return changedSince(ctx, run, todo, restoredFirst);
  }
  const blockers = driftBlockers(ctx, run, found);
  if (blockers.length > 0) {
    await adapter.rollback();
    const message = restoredFirst
      ? `the tables ${restored.join(', ')} are back, but the specs were not restored (a workflow changed meanwhile); ` +
        'run --rollback again'
      : REFUSED;
    const rollback = summaryOf(run, { ...found, ...tables }, message, true);
    // The tables did come back (they were renamed in their own commit): say so.
    if (restoredFirst) rollback.tablesRestored = restored;
    return blockedResult(ctx, emptyPlan(), blockers, { rollback });
  }
  if (adapter.transactionalDdl && todo.length > 0) await adapter.restoreTables(todo, run.restoreDdl);
  const finishedAt = new Date().toISOString();
  await book.updateRun(run.id, { status: 'rolled_back', rolledBackBy: ctx.runId, rolledBackAt: finishedAt });
  const done = summaryOf(run, { ...found, ...tables }, `run ${run.id} rolled back`);
  const options = JSON.stringify({ run: run.id, force: ctx.req.force, planFile: planFileRef(ctx.req) });
  const { stepTable, workflowTable } = run;
  // The run record keeps the counts; the rows restored and drifted (one per workflow row) are the
  // report's, and would overflow a TEXT column (64 KB on MySQL/MariaDB) at a few thousand rows.
  const { workflows: _rows, drifted, ...counts } = done;
  const summary = JSON.stringify({ ...counts, drifted: drifted.length });
  await book.saveRun(runRecord(ctx, { status: 'done', finishedAt, stepTable, workflowTable, options, summary }));
  await adapter.commit();
  return result(ctx, emptyPlan(), 'done', ExitCode.ok, { rollback: done });
}

/** Which kept tables still have to come back; and why they cannot, if they cannot. */
async function tablesToRestore(
  adapter: DialectAdapter,
  tables: KeptTable[],
): Promise<{ todo: Returning[]; problems: string[] }> {
  const todo: Returning[] = [];
  const problems: string[] = [];
  for (const t of tables) {
    const keptThere = (await adapter.columns({ schema: t.original.schema, table: t.kept })) !== null;
    const originalThere = (await adapter.columns(t.original)) !== null;
    if (keptThere && originalThere) {
      problems.push(`a table ${t.original.table} exists again; remove it first, the rollback would overwrite it`);
    } else if (keptThere) todo.push({ ...t, rows: await keptRows(adapter, t) });
    else if (!originalThere) problems.push(`the kept copy ${t.kept} of ${t.original.table} is gone (was cleanup run?)`);
  }
  return { todo, problems };
}

/** The rows a kept table holds: what comes back with it. */
async function keptRows(adapter: DialectAdapter, t: KeptTable): Promise<number> {
  const [row] = await adapter.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM ??', [
    qualified({ schema: t.original.schema, table: t.kept }),
  ]);
  return Number(row?.n ?? 0);
}

/**
 * One pass over a run's backups, page by page: every workflow row it changed is compared with
 * what the run wrote. Unchanged rows get their original spec back; rows edited since are drift:
 * refused, or with `--force` given back their old `step_configurations` and keep the rest.
 */
async function restoreSpecs(ctx: Context, run: RunRecord, write: boolean, sink?: (e: Entry) => void): Promise<Found> {
  const { book, store, req } = ctx;
  const out: Found = { workflowsRestored: 0, drifted: new SpillingList(), forced: 0, workflowsToRestore: 0 };
  if (req.plan.listWorkflows) out.workflows = new SpillingList();
  // A page holds workflow rows only: ten times a scan batch of workflow uids is about as many rows.
  for await (const page of book.backupsOf(run.id, req.batchSize * 10)) {
    const current = await store.workflowsByKeys(page, write);
    const byKey = new Map(current.map((w) => [JSON.stringify([w.uid, w.version]), w]));
    const writes: SpecWrite[] = [];
    for (const backup of page) {
      const row = byKey.get(JSON.stringify([backup.uid, backup.version]));
      const forcedBefore = out.forced;
      const spec = restoredSpec(out, backup, row, req.force);
      sink?.(rollbackEntry(backup, row, spec));
      if (spec === undefined || !row) continue;
      writes.push({ uid: backup.uid, version: backup.version, spec });
      out.workflows?.add({ uid: row.uid, version: row.version, name: row.name, forced: out.forced > forcedBefore });
    }
    if (write && (req.force || out.drifted.length === 0)) await store.writeSpecs(writes);
  }
  out.workflowsToRestore = out.workflowsRestored + out.forced;
  return out;
}

/**
 * One backed-up row: the spec the rollback gives it back, counted in `out`, or undefined when
 * it gives none (a row edited since the run, without `--force`; a row that is gone).
 */
function restoredSpec(
  out: Found,
  backup: SpecBackup,
  row: { name: string; spec: string | null } | undefined,
  force: boolean,
): string | null | undefined {
  const key = { uid: backup.uid, version: backup.version };
  if (!row) {
    out.drifted.add({ ...key, reason: 'the workflow row no longer exists', name: null, keys: [], forceKeeps: [] });
    return undefined;
  }
  if (stillAsWritten(row.spec, backup.writtenHash)) {
    out.workflowsRestored++;
    return backup.original;
  }
  const keys = editedKeys(row.spec, backup.original, backup.writtenHash);
  const forceKeeps = keys.filter((k) => k !== TARGET_KEY);
  const reason = `its spec changed after the run${keys.length > 0 ? ` (${keys.join(', ')})` : ' (its layout only)'}`;
  out.drifted.add({ ...key, reason, name: row.name, keys, forceKeeps });
  if (!force) return undefined;
  out.forced++;
  return restoreKeepingEdits(row.spec, backup.original);
}

/** The check of a pass against a reviewed plan (see `reviewedPlanCheck`). */
type PlanCheck = NonNullable<ReturnType<typeof reviewedPlanCheck>>;

/** Why the tables to bring back are not those of the reviewed plan (other tables, other row counts). */
function tablesUnlikePlan(ctx: Context, todo: Returning[]): string | undefined {
  const planned = ctx.req.fromPlan?.loaded?.trailer.rollback as { tables?: unknown } | undefined;
  if (!ctx.req.fromPlan) return undefined;
  const now = JSON.stringify(tablesOf(todo).tables);
  if (JSON.stringify(planned?.tables ?? []) === now) return undefined;
  return `the tables to bring back are not those of the plan ${ctx.req.fromPlan.path} (now: ${now}); make the plan again`;
}

/** A rollback whose rows no longer give the reviewed plan: refused, with the differences by key. */
async function changedSince(ctx: Context, run: RunRecord, todo: Returning[], tablesBack = false): Promise<RunResult> {
  const message = tablesBack
    ? `the tables ${todo.map((t) => t.original.table).join(', ')} are back, but the specs were not restored; make the plan again`
    : REFUSED;
  const rollback = summaryOf(run, tablesOf(todo), message, true);
  if (tablesBack) rollback.tablesRestored = todo.map((t) => t.original.table);
  return changedSincePlan(
    ctx,
    emptyPlan(),
    async (sink) => {
      await readOnly(ctx.adapter, () => restoreSpecs(ctx, run, false, sink));
    },
    { rollback },
  );
}
