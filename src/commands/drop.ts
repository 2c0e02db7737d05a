import type { Plan } from '../core/plan.js';
import type { DialectAdapter, KeptTable } from '../dialect/adapter.js';
import { TOOL_PREFIX, type Bookkeeping, type RunRecord } from '../migrate/bookkeeping.js';
import { dropBlockersOf, leftRows } from '../migrate/drop-guard.js';
import { writeOrphansFile, type LeftRow } from '../migrate/orphans-file.js';
import { SpillingList } from '../migrate/spill-list.js';
import { sameRows } from '../migrate/write-checks.js';
import type { Context } from './context.js';

/** Why `--drop-table` may not go ahead for this plan: rows it would lose, foreign keys. */
export async function dropBlockers(ctx: Context, plan: Plan): Promise<string[]> {
  const { store } = ctx;
  return dropBlockersOf({
    plan,
    orphansOut: ctx.req.orphansOut,
    stepTable: store.step.table,
    ownTables: [store.step.table, ...(store.labels ? [store.labels.ref.table] : [])],
    foreignKeys: await ctx.adapter.foreignKeysTo(store.step),
  });
}

/** The names the step table and its labels table are kept under by a run. */
export function keptTablesFor(ctx: Context): KeptTable[] {
  const prefix = `${TOOL_PREFIX}${ctx.runId.slice(0, 8)}`;
  const kept: KeptTable[] = [{ original: ctx.store.step, kept: `${prefix}_steps` }];
  if (ctx.store.labels) kept.unshift({ original: ctx.store.labels.ref, kept: `${prefix}_labels` });
  return kept;
}

/** Exports the rows the fold leaves behind, complete with labels, into the `--orphans-out` file. */
export async function exportLeftRows(ctx: Context, plan: Plan, path: string): Promise<void> {
  const left = leftRows(plan);
  const reasons = new Map(left.map((l) => [JSON.stringify([l.uid, l.version]), l.reason]));
  // The rows go to a list that spills to a file: the export of a large table is never held whole.
  const rows = new SpillingList<LeftRow>();
  for await (const batch of ctx.store.exportRows(left)) {
    for (const row of batch) {
      rows.add({ reason: reasons.get(JSON.stringify([row.columns.uid, row.columns.version ?? ''])) ?? 'left', ...row });
    }
  }
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
 * Where DDL commits on its own (MySQL/MariaDB) the drop follows the fold's commit as its own
 * phase. A run that committed its fold but not its drop (a crash in between) is finished here,
 * before anything else.
 */
export async function finishPendingDrops(adapter: DialectAdapter, book: Bookkeeping): Promise<string[]> {
  const notes: string[] = [];
  for (const run of (await book.listRuns()).filter((r) => r.status === 'folded')) {
    notes.push(await finishDrop(adapter, book, run));
  }
  return notes;
}

async function finishDrop(adapter: DialectAdapter, book: Bookkeeping, run: RunRecord): Promise<string> {
  const pending = [];
  for (const t of book.keptTables(run)) if ((await adapter.columns(t.original)) !== null) pending.push(t);
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
    return `finished the drop of run ${run.id} after its fold had committed`;
  }
  // Rows came or went since the fold: dropping now could take rows nobody folded or exported.
  await book.updateRun(run.id, { status: 'applied', tableDropped: false, keptStepTable: null, keptLabelsTable: null });
  return `did not drop ${run.stepTable} for run ${run.id}: its rows changed after the fold; run again with --drop-table`;
}
