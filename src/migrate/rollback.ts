import { restoreKeepingEdits } from '../core/merge.js';
import type { DialectAdapter, KeptTable, SpecWrite } from '../dialect/adapter.js';
import { ExitCode, NOTHING_WRITTEN, ToolError } from '../errors.js';
import { stillAsWritten, type Bookkeeping, type RunRecord } from './bookkeeping.js';
import { emptyPlan, type RollbackResult } from './report.js';
import {
  backupBeforeWriting,
  hasChanges,
  readOnly,
  result,
  runRecord,
  type Context,
  type RunRequest,
  type RunResult,
} from './run.js';

/** The run a rollback undoes: `--run ID` (or a unique prefix of it), else the latest that changed something. */
function chooseRun(runs: RunRecord[], wanted: string | undefined): RunRecord | undefined {
  if (wanted === undefined) {
    return runs.filter((r) => r.mode === 'apply' && r.status !== 'rolled_back' && hasChanges(r)).at(-1);
  }
  const matches = runs.filter((r) => r.id === wanted || r.id.startsWith(wanted));
  if (matches.length !== 1 || matches[0]!.mode !== 'apply') {
    throw new ToolError(
      matches.length > 1
        ? `--run ${wanted} matches ${matches.length} runs: give more of the id`
        : `no applied run "${wanted}" in the run table (see: stepcfg-migrate status)`,
      ExitCode.usage,
    );
  }
  return matches[0];
}

/** Which kept tables still have to come back; and why they cannot, if they cannot. */
async function tablesToRestore(
  adapter: DialectAdapter,
  tables: KeptTable[],
): Promise<{ todo: KeptTable[]; problems: string[] }> {
  const todo: KeptTable[] = [];
  const problems: string[] = [];
  for (const t of tables) {
    const keptThere = (await adapter.columns({ schema: t.original.schema, table: t.kept })) !== null;
    const originalThere = (await adapter.columns(t.original)) !== null;
    if (keptThere && originalThere)
      problems.push(`a table ${t.original.table} exists again; remove it first, the rollback would overwrite it`);
    else if (keptThere) todo.push(t);
    else if (!originalThere) problems.push(`the kept copy ${t.kept} of ${t.original.table} is gone (was cleanup run?)`);
  }
  return { todo, problems };
}

/**
 * One pass over a run's backups, page by page: every workflow row it changed is compared with
 * what the run wrote. Unchanged rows get their original spec back; rows edited since are drift:
 * refused, or with `--force` given back their old `step_configurations` and keep the rest.
 */
async function restoreSpecs(
  ctx: Context,
  run: RunRecord,
  write: boolean,
): Promise<Omit<RollbackResult, 'run' | 'tablesRestored' | 'message'>> {
  const { book, store, req } = ctx;
  const out = { workflowsRestored: 0, drifted: [] as RollbackResult['drifted'], forced: 0 };
  // A page holds workflow rows only: ten times a scan batch of workflow uids is about as many rows.
  for await (const page of book.backupsOf(run.id, req.batchSize * 10)) {
    const current = await store.workflowsByKeys(page, write);
    const byKey = new Map(current.map((w) => [JSON.stringify([w.uid, w.version]), w]));
    const writes: SpecWrite[] = [];
    for (const backup of page) {
      const row = byKey.get(JSON.stringify([backup.uid, backup.version]));
      if (!row) {
        out.drifted.push({ uid: backup.uid, version: backup.version, reason: 'the workflow row no longer exists' });
        continue;
      }
      if (stillAsWritten(row.spec, backup.writtenHash)) {
        writes.push({ uid: backup.uid, version: backup.version, spec: backup.original });
        out.workflowsRestored++;
        continue;
      }
      out.drifted.push({ uid: backup.uid, version: backup.version, reason: 'its spec changed after the run' });
      if (req.force) {
        writes.push({ uid: backup.uid, version: backup.version, spec: restoreKeepingEdits(row.spec, backup.original) });
        out.forced++;
      }
    }
    if (write && (req.force || out.drifted.length === 0)) await store.writeSpecs(writes);
  }
  return out;
}

/**
 * Rollback: undoes one applied run. Specs come back byte for byte, a dropped table and its labels
 * come back as they were, the run is marked rolled back; all in one transaction where DDL is
 * transactional. On MySQL/MariaDB the tables come back first (a re-run finishes the rest).
 */
export async function rollback(ctx: Context): Promise<RunResult> {
  const { adapter, book, req } = ctx;
  const run = chooseRun(await book.listRuns(), req.runId);
  const summary = (r: Partial<RollbackResult> & { message: string }): RollbackResult => ({
    run: run?.id ?? null,
    workflowsRestored: 0,
    drifted: [],
    forced: 0,
    tablesRestored: [],
    ...r,
  });
  if (!run)
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, {
      rollback: summary({ message: 'nothing to roll back' }),
    });
  if (run.status === 'rolled_back') {
    const message = `run ${run.id} was already rolled back (by run ${run.rolledBackBy} at ${run.rolledBackAt})`;
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, { rollback: summary({ message }) });
  }
  const runs = await book.listRuns();
  const later = runs.filter(
    (r) => r.mode === 'apply' && r.status !== 'rolled_back' && hasChanges(r) && r.startedAt > run.startedAt,
  );
  if (later.length > 0) {
    const blockers = [
      `run ${later.at(-1)!.id} applied after run ${run.id} and is not rolled back: roll back the later runs first, newest first`,
    ];
    return result(ctx, { ...emptyPlan(), blockers }, 'blocked', ExitCode.blocked, {
      rollback: summary({ message: `rollback refused; ${NOTHING_WRITTEN}` }),
    });
  }
  const tables = await tablesToRestore(adapter, run.tableDropped ? book.keptTables(run) : []);
  const blocked = (message: string, found: Partial<RollbackResult>, blockers: string[]) =>
    result(ctx, { ...emptyPlan(), blockers }, 'blocked', ExitCode.blocked, {
      rollback: summary({ ...found, message }),
    });
  if (tables.problems.length > 0) return blocked(`rollback refused; ${NOTHING_WRITTEN}`, {}, tables.problems);

  const driftBlockers = (found: { drifted: RollbackResult['drifted'] }) =>
    found.drifted.length > 0 && !req.force
      ? [
          `${found.drifted.length} workflow row(s) changed after run ${run.id}: ${found.drifted
            .slice(0, 5)
            .map((d) => d.uid)
            .join(
              ', ',
            )}${found.drifted.length > 5 ? ', …' : ''} (--force restores their step_configurations and keeps their other edits)`,
        ]
      : [];

  if (req.dryRun || !adapter.transactionalDdl) {
    const found = await readOnly(adapter, () => restoreSpecs(ctx, run, false));
    const blockers = driftBlockers(found);
    if (blockers.length > 0) return blocked(`rollback refused; ${NOTHING_WRITTEN}`, found, blockers);
    if (req.dryRun) {
      const message = `would restore ${found.workflowsRestored + found.forced} workflow row(s)${tables.todo.length > 0 ? ` and bring back ${tables.todo.map((t) => t.original.table).join(', ')}` : ''}`;
      return result(ctx, emptyPlan(), 'planned', ExitCode.ok, {
        rollback: summary({ ...found, tablesRestored: tables.todo.map((t) => t.original.table), message }),
      });
    }
  }
  if (
    !(await req.confirm(
      `Roll back run ${run.id}? Workflow specs it changed get their original text back${tables.todo.length > 0 ? ', and the dropped tables come back' : ''}.`,
    ))
  ) {
    return blocked(`rollback not confirmed; ${NOTHING_WRITTEN}`, {}, [
      '--rollback needs --yes when there is no terminal to confirm on',
    ]);
  }
  await backupBeforeWriting(req, adapter, ctx.notes, ctx.outputs);
  // MySQL/MariaDB: the tables come back first (DDL commits); the specs follow in a transaction.
  const restoredFirst = !adapter.transactionalDdl && tables.todo.length > 0;
  if (restoredFirst) await adapter.restoreTables(tables.todo, run.restoreDdl);
  await adapter.begin('write');
  const found = await restoreSpecs(ctx, run, true);
  const blockers = driftBlockers(found);
  if (blockers.length > 0) {
    await adapter.rollback();
    if (!restoredFirst) return blocked(`rollback refused; ${NOTHING_WRITTEN}`, found, blockers);
    const restored = tables.todo.map((t) => t.original.table);
    return blocked(
      `the tables ${restored.join(', ')} are back, but the specs were not restored (a workflow changed meanwhile); run --rollback again`,
      { ...found, tablesRestored: restored },
      blockers,
    );
  }
  if (adapter.transactionalDdl && tables.todo.length > 0) await adapter.restoreTables(tables.todo, run.restoreDdl);
  const finishedAt = new Date().toISOString();
  await book.updateRun(run.id, { status: 'rolled_back', rolledBackBy: ctx.runId, rolledBackAt: finishedAt });
  const done = summary({
    ...found,
    tablesRestored: tables.todo.map((t) => t.original.table),
    message: `run ${run.id} rolled back`,
  });
  await book.saveRun(
    runRecord(ctx, {
      status: 'done',
      finishedAt,
      stepTable: run.stepTable,
      workflowTable: run.workflowTable,
      options: JSON.stringify({ run: run.id, force: req.force }),
      summary: JSON.stringify(done),
    }),
  );

  await adapter.commit();
  return result(ctx, emptyPlan(), 'done', ExitCode.ok, { rollback: done });
}

/** The answer when there is no run table at all. */
export function nothingToRollBack(req: RunRequest, runId: string, notes: string[]): RunResult {
  const rollback: RollbackResult = {
    run: null,
    workflowsRestored: 0,
    drifted: [],
    forced: 0,
    tablesRestored: [],
    message: 'nothing to roll back',
  };
  return result({ req, runId, notes }, emptyPlan(), 'nothing-to-do', ExitCode.ok, { rollback });
}

/** Cleanup: removes the tool's own tables once no rollback is wanted any more. */
export async function cleanup(
  req: RunRequest,
  adapter: DialectAdapter,
  book: Bookkeeping,
  runId: string,
): Promise<RunResult> {
  const ctx = { req, runId, notes: await adapter.notes(), outputs: [] as string[] };
  const runs = await book.listRuns();
  if (!(await book.exists())) {
    return result(ctx, emptyPlan(), 'nothing-to-do', ExitCode.ok, { cleanup: { dropped: [] } });
  }
  const undoable = runs.filter((r) => r.mode === 'apply' && r.status !== 'rolled_back' && hasChanges(r)).length;
  if (req.dryRun) {
    ctx.notes.push(`would remove the tool's tables; ${undoable} run(s) could then no longer be rolled back`);
    return result(ctx, emptyPlan(), 'planned', ExitCode.ok, { cleanup: { dropped: [] } });
  }
  if (
    !(await req.confirm(
      `Remove every stepcfg_migrate_* table, the kept copies of dropped step tables (their rows and labels) included? ${undoable} run(s) can then no longer be rolled back.`,
    ))
  ) {
    return result(
      ctx,
      { ...emptyPlan(), blockers: ['cleanup needs --yes when there is no terminal to confirm on'] },
      'blocked',
      ExitCode.blocked,
    );
  }
  await backupBeforeWriting(req, adapter, ctx.notes, ctx.outputs);
  if (adapter.transactionalDdl) await adapter.begin('write');
  const dropped = await book.dropAll();
  if (adapter.transactionalDdl) await adapter.commit();
  return result(ctx, emptyPlan(), 'done', ExitCode.ok, { cleanup: { dropped } });
}
