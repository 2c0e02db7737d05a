import type { Plan } from '../core/plan.js';
import type { DialectAdapter, KeptTable } from '../dialect/adapter.js';
import { ExitCode, NOTHING_WRITTEN, ToolError } from '../errors.js';
import { TOOL_PREFIX, writtenHash, type Bookkeeping } from './bookkeeping.js';
import { writeOrphansFile, type LeftRow } from './orphans-file.js';
import { emptyPlan } from './report.js';
import { backupBeforeWriting, readOnly, result, runRecord, scan, type Context, type RunResult } from './run.js';
import { expectWritten, sameRows } from './write-checks.js';

/** The rows a plan leaves in the step table: orphans, skipped invalid rows, kept conflicts. */
function leftRows(plan: Plan): { uid: string; version: string; reason: string }[] {
  const kept = new Map<string, { uid: string; version: string; reason: string }>();
  for (const c of plan.conflicts) {
    if (c.resolution === 'kept') {
      kept.set(JSON.stringify([c.stepUid, c.stepVersion]), {
        uid: c.stepUid,
        version: c.stepVersion,
        reason: `conflict kept: ${c.reason}`,
      });
    }
  }
  return [
    ...plan.orphans.map((o) => ({ uid: o.uid, version: o.version, reason: `orphan: ${o.reason}` })),
    ...plan.invalid.map((i) => ({ uid: i.uid, version: i.version, reason: `invalid: ${i.reason}` })),
    ...kept.values(),
  ];
}

/** Why `--drop-table` may not go ahead for this plan (SPEC 4, issue 3): rows it would lose, foreign keys. */
export async function dropBlockers(ctx: Context, plan: Plan): Promise<string[]> {
  const blockers: string[] = [];
  const left = leftRows(plan).length;
  if (left > 0 && !ctx.req.orphansOut) {
    blockers.push(
      `--drop-table would remove ${left} row(s) that are not folded (orphans, skipped invalid rows, kept conflicts): pass --orphans-out FILE to keep them in a file`,
    );
  }
  const own = new Set(
    [ctx.store.step.table, ctx.store.labels?.ref.table].filter(Boolean).map((t) => String(t).toLowerCase()),
  );
  const foreign = (await ctx.adapter.foreignKeysTo(ctx.store.step)).filter((fk) => {
    const table = fk.table.replace(/^.*\./, '').replace(/"/g, '').toLowerCase();
    return !own.has(table) && !table.startsWith(TOOL_PREFIX);
  });
  for (const fk of foreign)
    blockers.push(`table ${fk.table} references ${ctx.store.step.table} (${fk.constraint}); --drop-table refused`);
  return blockers;
}

/** The names the step table and its labels table are kept under by a run. */
function keptTablesFor(ctx: Context): KeptTable[] {
  const prefix = `${TOOL_PREFIX}${ctx.runId.slice(0, 8)}`;
  const kept: KeptTable[] = [{ original: ctx.store.step, kept: `${prefix}_steps` }];
  if (ctx.store.labels) kept.unshift({ original: ctx.store.labels.ref, kept: `${prefix}_labels` });
  return kept;
}

/** Exports the rows the fold leaves behind, complete with labels, into the `--orphans-out` file. */
async function exportLeftRows(ctx: Context, plan: Plan, path: string): Promise<void> {
  const left = leftRows(plan);
  const reasons = new Map(left.map((l) => [JSON.stringify([l.uid, l.version]), l.reason]));
  const rows: LeftRow[] = (await ctx.store.exportRows(left)).map((row) => ({
    reason: reasons.get(JSON.stringify([row.columns.uid, row.columns.version ?? ''])) ?? 'left',
    ...row,
  }));
  writeOrphansFile(path, {
    formatVersion: 1,
    runId: ctx.runId,
    database: ctx.req.target.display,
    stepTable: ctx.store.step.table,
    labelsTable: ctx.store.labels?.ref.table ?? null,
    exportedAt: new Date().toISOString(),
    count: rows.length,
    rows,
  });
}

/**
 * On MySQL/MariaDB the drop follows the fold's commit as its own phase. A run that committed its
 * fold but not its drop (a crash in between) is finished here, before anything else.
 */
export async function finishPendingDrops(adapter: DialectAdapter, book: Bookkeeping): Promise<string[]> {
  const notes: string[] = [];
  for (const run of (await book.listRuns()).filter((r) => r.status === 'folded')) {
    const tables = book.keptTables(run);
    const pending = [];
    for (const t of tables) if ((await adapter.columns(t.original)) !== null) pending.push(t);
    const rows = Number((JSON.parse(run.summary) as { stepRows?: number }).stepRows);
    const step = { schema: book.schema, table: run.stepTable };
    const done =
      pending.length > 0 ? await adapter.keepTables(pending, sameRows(step, rows)) : { kept: true, captured: null };
    if (done.kept) {
      await book.updateRun(run.id, {
        status: 'applied',
        tableDropped: true,
        restoreDdl: done.captured ?? run.restoreDdl,
      });
      notes.push(`finished the drop of run ${run.id} after its fold had committed`);
    } else {
      // Rows came or went since the fold: dropping now could take rows nobody folded or exported.
      await book.updateRun(run.id, {
        status: 'applied',
        tableDropped: false,
        keptStepTable: null,
        keptLabelsTable: null,
      });
      notes.push(
        `did not drop ${run.stepTable} for run ${run.id}: its rows changed after the fold; run again with --drop-table`,
      );
    }
  }
  return notes;
}

/**
 * Apply: plan, and only when nothing blocks, write in one transaction: the original specs into
 * the backup table, the new specs, the run record, and (where DDL is transactional) the drop.
 * The writing pass re-reads every batch under lock and must reproduce the plan's numbers exactly.
 */
export async function apply(ctx: Context): Promise<RunResult> {
  const { adapter, book, req } = ctx;
  if (ctx.droppedBy) {
    ctx.notes.push(`nothing to migrate: ${req.tables.step} was dropped by run ${ctx.droppedBy.id}`);
    const plan = emptyPlan();
    plan.summary.tableDropped = true;
    return result(ctx, plan, 'nothing-to-do', ExitCode.ok);
  }
  if (req.dropTable) {
    const names = keptTablesFor(ctx)
      .map((t) => t.original.table)
      .join(' and ');
    const question = `Drop ${names} after the fold? (they are kept as ${TOOL_PREFIX}* tables until cleanup, for --rollback)`;
    if (!(await req.confirm(question))) {
      // Refused, but the report still shows what the run would have done (a read-only pass).
      const plan = await readOnly(adapter, () => scan(ctx));
      const blockers = [...plan.blockers, '--drop-table needs --yes when there is no terminal to confirm on'];
      return result(ctx, { ...plan, blockers }, 'blocked', ExitCode.blocked);
    }
  }
  if (req.backupFile) {
    // The copy is made only for a plan that goes through: a blocked run leaves nothing, not even a file.
    const first = await readOnly(adapter, () => scan(ctx));
    const blockers = [...first.blockers, ...(req.dropTable ? await dropBlockers(ctx, first) : [])];
    if (blockers.length > 0) return result(ctx, { ...first, blockers }, 'blocked', ExitCode.blocked);
    await backupBeforeWriting(req, adapter, ctx.notes, ctx.outputs);
  }
  let createdHere = false;
  if (!adapter.transactionalDdl) {
    // DDL commits at once here: the tool's tables are made before the fold's transaction, and a
    // run that does not go through drops them again if it made them.
    createdHere = !(await book.exists());
    await book.ensureTables();
  }
  try {
    const outcome = await foldAndRecord(ctx);
    if (outcome.exitCode !== ExitCode.ok && createdHere) await book.dropAll();
    return outcome;
  } catch (e) {
    await adapter.rollback().catch(() => undefined);
    // A run that exits non-zero leaves nothing behind, not even the tables it just created.
    if (createdHere) await book.dropAll().catch(() => undefined);
    throw e;
  }
}

/**
 * The write transaction of an apply: one pass that plans each batch, locking its workflow rows,
 * and stages the specs it will write in a temporary table; then, only when the plan is complete
 * and nothing blocks, two set-based statements write the backups and the specs. Then the drop
 * and the run record.
 */
async function foldAndRecord(ctx: Context): Promise<RunResult> {
  const { adapter } = ctx;
  await adapter.begin('write');
  try {
    return await stageAndWrite(ctx);
  } finally {
    await adapter.closeStage().catch(() => undefined);
  }
}

async function stageAndWrite(ctx: Context): Promise<RunResult> {
  const { adapter, store, book, req } = ctx;
  if (adapter.transactionalDdl) await book.ensureTables();
  // A table about to be dropped takes no new rows while the run plans and writes.
  if (req.dropTable) await adapter.freezeTables?.([store.step, ...(store.labels ? [store.labels.ref] : [])]);
  await adapter.openStage(store.workflow, store.workflowHasVersion);
  const keepsText = adapter.keepsJsonText(store.workflowSpecType);
  let staged = 0;
  const written = await scan(ctx, {
    lock: true,
    write: async (updates) => {
      await adapter.stage(
        updates.map((u) => ({
          uid: u.uid,
          version: u.version,
          spec: u.newSpec,
          hash: writtenHash(u.newSpec, keepsText),
        })),
      );
      staged += updates.length;
    },
  });
  const blockers = [...written.blockers, ...(req.dropTable ? await dropBlockers(ctx, written) : [])];
  if (blockers.length > 0) {
    await adapter.rollback();
    return result(ctx, { ...written, blockers }, 'blocked', ExitCode.blocked);
  }
  if (staged > 0) {
    req.progress?.({
      phase: 'writing',
      rowsDone: written.summary.stepRows,
      rowsTotal: written.summary.stepRows,
      workflows: staged,
    });
    const counts = await adapter.writeStage({
      workflow: store.workflow,
      specType: store.workflowSpecType,
      hasVersion: store.workflowHasVersion,
      backups: book.backups,
      runId: ctx.runId,
    });
    expectWritten(staged, [counts.backedUp, counts.updated]);
  }
  if (req.orphansOut) {
    await exportLeftRows(ctx, written, req.orphansOut);
    ctx.outputs.push(req.orphansOut);
  }
  const kept = req.dropTable ? keptTablesFor(ctx) : [];
  const dropNow = req.dropTable && adapter.transactionalDdl;
  const guard = sameRows(store.step, written.summary.stepRows);
  const dropped = dropNow ? await adapter.keepTables(kept, guard) : { kept: false, captured: null };
  if (dropNow && !dropped.kept)
    throw new ToolError(`step rows changed while the run was writing; ${NOTHING_WRITTEN}, run again`);
  const captured = dropped.captured;
  const run = runRecord(ctx, {
    status: req.dropTable && !dropNow ? 'folded' : 'applied',
    finishedAt: new Date().toISOString(),
    stepTable: store.step.table,
    workflowTable: store.workflow.table,
    options: JSON.stringify({ ...req.plan, dropTable: req.dropTable, orphansOut: req.orphansOut ?? null }),
    summary: JSON.stringify({ ...written.summary, tableDropped: req.dropTable }),
    tableDropped: dropNow,
    keptStepTable: kept.find((t) => t.original.table === store.step.table)?.kept ?? null,
    keptLabelsTable: kept.find((t) => t.original.table !== store.step.table)?.kept ?? null,
    restoreDdl: captured,
  });
  await book.saveRun(run);
  await adapter.commit();
  if (req.dropTable && !dropNow) ctx.notes.push(...(await finishPendingDrops(adapter, book)));
  written.summary.tableDropped =
    req.dropTable && (await book.listRuns()).some((r) => r.id === ctx.runId && r.tableDropped);
  return result(ctx, written, 'done', ExitCode.ok, {
    drop: req.dropTable ? { keptAs: kept.map((t) => t.kept), orphansFile: req.orphansOut ?? null } : undefined,
  });
}
