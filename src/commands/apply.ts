import type { Plan } from '../core/plan.js';
import { ExitCode, NOTHING_WRITTEN, OwnTablesLeft, tablesLeft, ToolError } from '../errors.js';
import { Bookkeeping, TOOL_PREFIX, writtenHash } from '../migrate/bookkeeping.js';
import { emptyPlan } from '../migrate/report.js';
import { expectWritten, sameRows } from '../migrate/write-checks.js';
import {
  backupBeforeWriting,
  blockedResult,
  openRun,
  readOnly,
  result,
  runRecord,
  scan,
  schemaOf,
  whileRecordedRunning,
  type Context,
  type RunResult,
  type Session,
} from './context.js';
import { dropBlockers, exportLeftRows, finishPendingDrops, keptTablesFor } from './drop.js';
import { approval } from './approval.js';
import type { StageTarget } from '../dialect/adapter.js';
import { absentStepTable, planOf } from './plan.js';
import type { Entry } from '../plan-file/entry.js';
import { foldWitness } from '../plan-file/witness.js';
import { changedSincePlan, planFileRef, reviewedPlanCheck, unlessPlanHadRows } from './planned.js';

/**
 * Apply: plan, and only when nothing blocks, write in one transaction: the original specs into
 * the backup table, the new specs, the run record, and (where DDL is transactional) the drop.
 * The writing pass re-reads every batch under lock and must reproduce the plan's numbers exactly.
 */
export async function apply(session: Session): Promise<RunResult> {
  const absent = await absentStepTable(session);
  if (absent) return unlessPlanHadRows(session.req, absent);
  const book = new Bookkeeping(session.adapter, await schemaOf(session));
  const ctx = await openRun(session, await finishPendingDrops(session.adapter, book));
  return whileRecordedRunning(ctx, () => applyRun(ctx));
}

async function applyRun(ctx: Context): Promise<RunResult> {
  const { req } = ctx;
  if (ctx.droppedBy) {
    ctx.notes.push(`nothing to migrate: ${req.tables.step} was dropped by run ${ctx.droppedBy.id}`);
    const plan = emptyPlan();
    plan.summary.tableDropped = true;
    return unlessPlanHadRows(req, result(ctx, plan, 'nothing-to-do', ExitCode.ok));
  }
  const refused = await approval(ctx, {
    question: applyQuestion(ctx),
    required: req.dropTable,
    preview: () => previewOf(ctx),
  });
  if (refused) return refused;
  if (req.backupFile) {
    // The copy is made only for a plan that goes through: a blocked run leaves nothing, not even a file.
    const blocked = req.confirmation === 'ask' ? undefined : await blockedBeforeWriting(ctx);
    if (blocked) return blocked;
    await backupBeforeWriting(ctx);
  }
  return withOwnTables(ctx, () => foldAndRecord(ctx));
}

/**
 * What the operator is shown before the question. With a reviewed plan it is first checked
 * against the plan: a plan that no longer holds is refused, not asked about.
 */
async function previewOf(ctx: Context): Promise<RunResult> {
  const check = reviewedPlanCheck(ctx.req);
  const preview = await planOf(ctx, check?.sink);
  if (!check || check.holds() || preview.exitCode !== ExitCode.ok) return preview;
  return changedSincePlan(ctx, preview, async (sink) => {
    await readOnly(ctx.adapter, () => scan(ctx, { witness: foldWitness(sink) }));
  });
}

/** The question before an apply: what it writes, where, and the tables it drops. */
function applyQuestion(ctx: Context): string {
  const where = `${ctx.req.target.dialect} ${ctx.req.target.display}`;
  if (!ctx.req.dropTable) return `Apply this plan to ${where}?`;
  const names = keptTablesFor(ctx)
    .map((t) => t.original.table)
    .join(' and ');
  return `Apply this plan to ${where}, then drop ${names} (kept as ${TOOL_PREFIX}* tables until cleanup, for rollback)?`;
}

/** A read-only planning pass: the blocked result when the plan cannot go through, else undefined. */
async function blockedBeforeWriting(ctx: Context): Promise<RunResult | undefined> {
  const plan = await readOnly(ctx.adapter, () => scan(ctx));
  const blockers = [...plan.blockers, ...(ctx.req.dropTable ? await dropBlockers(ctx, plan) : [])];
  return blockers.length > 0 ? blockedResult(ctx, plan, blockers) : undefined;
}

/**
 * Where DDL commits at once (MySQL/MariaDB) the tool's tables are made before the fold's
 * transaction; a run that does not go through drops them again if it made them, so that a run
 * that exits non-zero leaves nothing behind. Once part of the run has committed they hold its
 * record and backups, and stay.
 */
async function withOwnTables(ctx: Context, fn: () => Promise<RunResult>): Promise<RunResult> {
  const { adapter, book } = ctx;
  const createdHere = !adapter.transactionalDdl && !(await book.exists());
  const unused = () => createdHere && !adapter.committed;
  const own = [book.runs.table, book.backups.table];
  let outcome: RunResult;
  try {
    if (!adapter.transactionalDdl) await book.ensureTables();
    outcome = await fn();
  } catch (e) {
    if (!unused()) await adapter.rollback().catch(() => undefined);
    else if (!(await removeOwnTables(ctx))) throw new OwnTablesLeft(e, own);
    throw e;
  }
  // A blocked run keeps its exit code and report; it only says what it could not remove.
  if (outcome.exitCode !== ExitCode.ok && unused() && !(await removeOwnTables(ctx))) {
    outcome.report.notes.push(tablesLeft(own));
  }
  return outcome;
}

/**
 * Rolls back and drops the tables a run made, when they hold no row; returns whether they are
 * gone. The server's time limit is lifted first (it must not stop the cleanup half-way), and the
 * drop is tried only after the rollback went through: a DROP commits an open transaction here.
 */
async function removeOwnTables({ adapter, book }: Context): Promise<boolean> {
  try {
    await adapter.liftTimeLimits?.();
    await adapter.rollback();
    return await book.dropIfEmpty();
  } catch {
    return false;
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
  const check = reviewedPlanCheck(ctx.req);
  await adapter.begin('write');
  try {
    const written = await stageWrites(ctx, check?.sink);
    if (check && !check.holds()) {
      await adapter.rollback();
      await adapter.closeStage();
      return await changedSincePlan(ctx, written.plan, async (sink) => {
        await readOnly(adapter, () => scan(ctx, { witness: foldWitness(sink) }));
      });
    }
    const blockers = [...written.plan.blockers, ...(ctx.req.dropTable ? await dropBlockers(ctx, written.plan) : [])];
    if (blockers.length > 0) {
      await adapter.rollback();
      return blockedResult(ctx, written.plan, blockers);
    }
    await writeStaged(ctx, written);
    return await dropAndRecord(ctx, written.plan);
  } finally {
    await adapter.closeStage().catch(() => undefined);
  }
}

/**
 * The writing pass: plans every batch under lock and stages the specs it will write; with a
 * reviewed plan, every row it reads also goes to the plan's check.
 */
async function stageWrites(ctx: Context, sink?: (e: Entry) => void): Promise<{ plan: Plan; staged: number }> {
  const { adapter, store, book, req } = ctx;
  if (adapter.transactionalDdl) await book.ensureTables();
  // A table about to be dropped takes no new rows while the run plans and writes.
  if (req.dropTable) await adapter.freezeTables?.([store.step, ...(store.labels ? [store.labels.ref] : [])]);
  await adapter.openStage(stageTarget(ctx));
  const keepsText = adapter.keepsJsonText(store.workflowSpecType);
  let staged = 0;
  const plan = await scan(ctx, {
    lock: true,
    witness: sink && foldWitness(sink),
    write: async (updates) => {
      const hash = (spec: string) => writtenHash(spec, keepsText);
      await adapter.stage(
        updates.map((u) => ({
          uid: u.uid,
          version: u.version,
          spec: u.newSpec,
          hash: hash(u.newSpec),
          original: u.oldSpec,
        })),
      );
      staged += updates.length;
    },
  });
  return { plan, staged };
}

/** Where an apply stages its specs, and what writing them records. */
function stageTarget({ store, book, runId }: Context): StageTarget {
  return {
    workflow: store.workflow,
    specType: store.workflowSpecType,
    hasVersion: store.workflowHasVersion,
    backups: book.backups,
    runId,
  };
}

/** Writes the staged specs and their backups, and the `--orphans-out` file. */
async function writeStaged(ctx: Context, { plan, staged }: { plan: Plan; staged: number }): Promise<void> {
  const { adapter, req } = ctx;
  if (staged > 0) {
    const rows = plan.summary.stepRows;
    req.progress?.({ phase: 'writing', rowsDone: rows, rowsTotal: rows, workflows: staged });
    const counts = await adapter.writeStage(stageTarget(ctx));
    expectWritten(staged, [counts.backedUp, counts.updated]);
  }
  if (req.orphansOut) {
    await exportLeftRows(ctx, plan, req.orphansOut);
    ctx.outputs.push(req.orphansOut);
  }
}

/** Drops the tables (where DDL is transactional), records the run and commits. */
async function dropAndRecord(ctx: Context, plan: Plan): Promise<RunResult> {
  const { adapter, store, book, req } = ctx;
  const kept = req.dropTable ? keptTablesFor(ctx) : [];
  const dropNow = req.dropTable && adapter.transactionalDdl;
  const guard = sameRows(store.step, plan.summary.stepRows);
  const dropped = dropNow ? await adapter.keepTables(kept, guard) : { kept: false, captured: null };
  if (dropNow && !dropped.kept) {
    throw new ToolError(`step rows changed while the run was writing; ${NOTHING_WRITTEN}, run again`);
  }
  await book.saveRun(
    runRecord(ctx, {
      status: req.dropTable && !dropNow ? 'folded' : 'applied',
      finishedAt: new Date().toISOString(),
      stepTable: store.step.table,
      workflowTable: store.workflow.table,
      options: JSON.stringify({
        ...req.plan,
        dropTable: req.dropTable,
        orphansOut: req.orphansOut ?? null,
        planFile: planFileRef(req),
      }),
      summary: JSON.stringify({ ...plan.summary, tableDropped: req.dropTable }),
      tableDropped: dropNow,
      keptStepTable: kept.find((t) => t.original.table === store.step.table)?.kept ?? null,
      keptLabelsTable: kept.find((t) => t.original.table !== store.step.table)?.kept ?? null,
      restoreDdl: dropped.captured,
    }),
  );
  await adapter.commit();
  if (req.dropTable && !dropNow) ctx.notes.push(...(await finishPendingDrops(adapter, book)));
  plan.summary.tableDropped =
    req.dropTable && (await book.listRuns()).some((r) => r.id === ctx.runId && r.tableDropped);
  const drop = req.dropTable ? { keptAs: kept.map((t) => t.kept), orphansFile: req.orphansOut ?? null } : undefined;
  return result(ctx, plan, 'done', ExitCode.ok, { drop });
}
