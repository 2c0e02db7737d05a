import type { Plan } from '../core/plan.js';
import type { StepRow, WorkflowUpdate } from '../core/types.js';
import { qualified } from '../dialect/adapter.js';
import { ExitCode } from '../errors.js';
import { RUN_COLUMNS, type RunRecord } from '../migrate/bookkeeping.js';
import type { Witness } from '../migrate/scan.js';
import { blockedResult, readOnly, result, runRecord, scan, type Context, type RunResult } from '../commands/context.js';
import { lockKey } from '../commands/run-lock.js';
import { ownTablesSql } from './own-tables-sql.js';
import type { RunValues, ScriptDialect, ScriptTarget } from './script-dialect.js';
import { ScriptThread } from './script-thread.js';
import { scriptDialect, type ScriptBatch, type ScriptPlan } from './script-writer.js';
import { stepRowBytes, stepRowText, type StepColumns } from './step-fingerprint.js';

/**
 * `plan --sql-out FILE`: the read-only planning pass of a dry run, whose every workflow write goes,
 * as it is planned, into a SQL script that does what the apply would do — with guards that make
 * it fail, writing nothing, where the database is no longer what the plan read. A thread of its
 * own writes the script (the hashes, the statements, the file) on the other core, while this one
 * plans. The file appears only whole, and only for a plan that goes through.
 */
export async function writeSqlScript(ctx: Context, file: string): Promise<RunResult> {
  const dialect = await scriptDialect(ctx.adapter.dialect);
  const target = await scriptTarget(ctx);
  const thread = new ScriptThread({
    file,
    dialect: ctx.adapter.dialect,
    target,
    header: headerText(ctx, dialect, file),
    keepsText: ctx.adapter.keepsJsonText(target.specType),
  });
  try {
    const rows = new RowsWitness(ctx, target.stepColumns, thread);
    const plan = await readOnly(ctx.adapter, async () => {
      const found = await scan(ctx, { witness: rows });
      await rows.readUnreadable();
      return found;
    });
    if (plan.blockers.length > 0) {
      await thread.discard();
      ctx.notes.push(`no SQL script written: the plan is blocked`);
      return blockedResult(ctx, plan, plan.blockers);
    }
    rows.flush();
    const planned = await thread.planned();
    await thread.commit(runValues(ctx, dialect, plan, planned.fingerprint), planLines(plan, planned));
    ctx.notes.push(
      `SQL script written to ${file} (${plan.summary.workflowsUpdated} workflow row(s), plan ${planned.fingerprint.slice(0, 12)}); ` +
        `review it, then run: ${dialect.howToRun(file)[0]}`,
    );
    return result(ctx, plan, 'planned', ExitCode.ok);
  } catch (e) {
    const reason = await thread.failure(e);
    await thread.discard();
    throw reason;
  }
}

/** What the script writes into: the run's tables, its lock, the tool's own DDL. */
async function scriptTarget(ctx: Context): Promise<ScriptTarget> {
  const { store, book, req, adapter } = ctx;
  return {
    runId: ctx.runId,
    workflow: store.workflow,
    step: store.step,
    runs: book.runs,
    backups: book.backups,
    hasVersion: store.workflowHasVersion,
    specType: store.workflowSpecType,
    stepColumns: store.stepFields(),
    lockKey: await lockKey(ctx),
    lockTimeoutMs: req.lockTimeoutMs,
    ownTables: await ownTablesSql(adapter.dialect, book.runs, book.backups),
  };
}

/** Characters of rows handed to the script thread at once. */
const BATCH_CHARS = 1 << 18;

/**
 * Sees every group the pass plans: its step rows (as the text the step table's check hashes) and
 * its workflow writes go to the script thread in batches, as soon as they are planned.
 */
class RowsWitness implements Witness {
  private batch: ScriptBatch = { steps: [], writes: [] };
  private chars = 0;
  /** Step rows whose spec is not UTF-8 text (SQLite): hashed from their bytes, read after the pass. */
  private readonly unreadable: StepRow[] = [];

  constructor(
    private readonly ctx: Context,
    private readonly columns: StepColumns,
    private readonly thread: ScriptThread,
  ) {}

  seen(_workflows: readonly unknown[], steps: readonly StepRow[], updates: readonly WorkflowUpdate[]): void {
    for (const row of steps) {
      if (row.specError) this.unreadable.push(row);
      else this.add(stepRowText(row, this.columns));
    }
    for (const u of updates) {
      this.batch.writes.push({ uid: u.uid, version: u.version, oldSpec: u.oldSpec, newSpec: u.newSpec });
      this.chars += u.newSpec.length + (u.oldSpec?.length ?? 0);
    }
    if (this.chars >= BATCH_CHARS) this.flush();
  }

  /** Hands over what is gathered. */
  flush(): void {
    if (this.batch.steps.length === 0 && this.batch.writes.length === 0) return;
    this.thread.send(this.batch);
    this.batch = { steps: [], writes: [] };
    this.chars = 0;
  }

  /** Adds the rows whose spec could not be read as text, read again as bytes. */
  async readUnreadable(): Promise<void> {
    const { adapter, store } = this.ctx;
    if (this.unreadable.length === 0) return;
    const bytes = adapter.asJsonBytes?.('spec');
    if (!bytes) throw new Error('a spec that is not text where the database has only text');
    const hasVersion = this.columns.some((c) => c.field === 'version');
    for (const row of this.unreadable) {
      const [found] = await adapter.query<{ b: Buffer }>(
        `SELECT ${bytes} AS b FROM ?? WHERE uid = ?${hasVersion ? ' AND version = ?' : ''}`,
        [qualified(store.step), row.uid, ...(hasVersion ? [row.version] : [])],
      );
      const values = this.columns.map(({ field }) =>
        field === 'spec' ? (found?.b ?? null) : (row[field] as string | null | undefined),
      );
      this.add(stepRowBytes(values));
    }
  }

  private add(text: string | Buffer): void {
    this.batch.steps.push(text);
    this.chars += text.length;
  }
}

/** The header: what the script does, from which plan, how to run it (the plan's numbers come after it). */
function headerText(ctx: Context, dialect: ScriptDialect, file: string): string {
  const { req, store, book } = ctx;
  const policy = [
    `--on-conflict ${req.plan.onConflict}`,
    req.plan.skipInvalid && '--skip-invalid',
    req.plan.strict && '--strict',
  ];
  const lines = [
    `stepcfg-migrate SQL script: folds ${store.step.table} into ${store.workflow.table}.spec, as \`apply\` would.`,
    `Made by stepcfg-migrate ${req.toolVersion} at ${ctx.startedAt} from a read-only plan of`,
    `${req.target.dialect} ${req.target.display} (${policy.filter(Boolean).join(' ')}).`,
    '',
    'Run it with the database shell, which stops at the first error:',
    ...dialect.howToRun(file).map((l) => `  ${l}`),
    '',
    'What it does, in one transaction:',
    "- takes the tool's run lock (a stepcfg-migrate run and this script never write at once);",
    `- creates the tool's tables ${book.runs.table} and ${book.backups.table} where missing;`,
    `- checks that ${store.step.table} holds exactly the rows the plan read (count and hash sum);`,
    `- for each workflow row: checks that its spec is still the one the plan read (its ${dialect.rowHash}),`,
    `  copies it into ${book.backups.table}, writes the new spec;`,
    `- records run ${ctx.runId} in ${book.runs.table}: \`stepcfg-migrate status\` then`,
    '  exits 0, and `stepcfg-migrate rollback` undoes it like any apply.',
    'A check that misses stops the script with an error that names the row; the transaction rolls',
    'back and nothing is written: make a new plan.',
    ...dialect.autoCommits(),
    '',
  ];
  return lines.map((l) => (l ? `-- ${l}\n` : '--\n')).join('');
}

/** The header's plan lines (comments, padded into their slot). */
function planLines(plan: Plan, steps: ScriptPlan): string {
  const s = plan.summary;
  return [
    `-- Plan: ${s.stepRows} step row(s): ${s.folded} folded, ${s.unchanged} unchanged, ${s.orphans} orphan(s),`,
    `--   ${s.conflicts} conflict(s), ${s.invalid} invalid; ${s.workflowsUpdated} workflow row(s) rewritten.`,
    `-- Step table as read: ${steps.rows} row(s), hash sum ${steps.sum}.`,
    `-- Plan fingerprint (SHA-256 of each row's key, old and new spec hash, and the step table's count and sum):`,
    `--   ${steps.fingerprint}`,
  ].join('\n');
}

/** The run record the script inserts: what an apply records, its times taken when the script runs. */
function runValues(ctx: Context, dialect: ScriptDialect, plan: Plan, fingerprint: string): RunValues {
  const { req, store } = ctx;
  const record: RunRecord = runRecord(ctx, {
    status: 'applied',
    host: `${req.origin.host} (SQL script)`.slice(0, 255),
    pid: 0,
    stepTable: store.step.table,
    workflowTable: store.workflow.table,
    options: JSON.stringify({ ...req.plan, dropTable: false, orphansOut: null, sqlScript: fingerprint }),
    summary: JSON.stringify({ ...plan.summary, tableDropped: false }),
  });
  return RUN_COLUMNS.map(([key, column]) => {
    const value = record[key];
    if (key === 'startedAt' || key === 'finishedAt') return { column, sql: dialect.now() };
    if (value === null) return { column, sql: 'NULL' };
    if (typeof value === 'boolean') return { column, sql: value ? '1' : '0' };
    if (typeof value === 'number') return { column, sql: String(value) };
    return { column, sql: dialect.literal(value) };
  });
}
