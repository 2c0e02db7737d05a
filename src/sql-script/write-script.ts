import { createHash, hash, type Hash } from 'node:crypto';
import type { Dialect } from '../config/db-url.js';
import type { Plan } from '../core/plan.js';
import type { StepRow, WorkflowUpdate } from '../core/types.js';
import { qualified } from '../dialect/adapter.js';
import { ExitCode } from '../errors.js';
import { RUN_COLUMNS, writtenHash, type RunRecord } from '../migrate/bookkeeping.js';
import type { Witness } from '../migrate/scan.js';
import { blockedResult, readOnly, result, runRecord, scan, type Context, type RunResult } from '../commands/context.js';
import { lockKey } from '../commands/run-lock.js';
import { mysqlScript } from './mysql.js';
import { ownTablesSql } from './own-tables-sql.js';
import { postgresScript } from './postgres.js';
import { ScriptFile, type Slot } from './script-file.js';
import type { RunValues, ScriptDialect, ScriptTarget } from './script-dialect.js';
import { sqliteScript } from './sqlite.js';
import type { HashSum } from './row-hash.js';
import { StepFingerprint } from './step-fingerprint.js';

const SCRIPTS: Record<Dialect, ScriptDialect> = { sqlite: sqliteScript, postgres: postgresScript, mysql: mysqlScript };

/** Bytes kept in the header for the plan's numbers, written once the plan is complete. */
const PLAN_LINES_SLOT = 640;
const END_OF_HEADER = '-- end of header\n';

/**
 * `plan --sql-out FILE`: the read-only planning pass of a dry run, whose every workflow write is
 * written, as it is planned, into a SQL script that does what the apply would do — with guards
 * that make it fail, writing nothing, where the database is no longer what the plan read. The
 * file appears only whole, and only for a plan that goes through.
 */
export async function writeSqlScript(ctx: Context, file: string): Promise<RunResult> {
  const dialect = SCRIPTS[ctx.adapter.dialect];
  const target = await scriptTarget(ctx);
  const out = new ScriptFile(file);
  const rows = new RowsWitness(ctx, dialect, target, out);
  try {
    const planSlot = writeHeader(out, ctx, dialect, file);
    const fillFacts = dialect.prologue(target, out);
    out.write('-- Each workflow row: the guard (its spec is still the one the plan read), the backup, the new spec.\n');
    const plan = await readOnly(ctx.adapter, async () => {
      const found = await scan(ctx, { witness: rows });
      await rows.readUnreadable();
      return found;
    });
    if (plan.blockers.length > 0) {
      rows.steps.close();
      out.discard();
      ctx.notes.push(`no SQL script written: the plan is blocked`);
      return blockedResult(ctx, plan, plan.blockers);
    }
    const steps = await rows.steps.finish();
    const fingerprint = rows.planFingerprint(steps);
    out.write(dialect.epilogue(target, runValues(ctx, dialect, plan, fingerprint)));
    fillFacts({ stepRows: steps.rows, stepSum: steps.sum, largestStatement: rows.largest });
    out.fill(planSlot, planLines(plan, steps, fingerprint));
    out.commit();
    ctx.notes.push(
      `SQL script written to ${file} (${plan.summary.workflowsUpdated} workflow row(s), plan ${fingerprint.slice(0, 12)}); ` +
        `review it, then run: ${dialect.howToRun(file)[0]}`,
    );
    return result(ctx, plan, 'planned', ExitCode.ok);
  } catch (e) {
    rows.steps.close();
    out.discard();
    throw e;
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

/**
 * Sees every group the pass plans: its step rows go into the step table's fingerprint, its
 * workflow writes into the script, each as soon as it is planned.
 */
class RowsWitness implements Witness {
  readonly steps: StepFingerprint;
  largest = 0;
  private readonly plan: Hash = createHash('sha256');
  /** Step rows whose spec is not UTF-8 text (SQLite): hashed from their bytes, read after the pass. */
  private readonly unreadable: StepRow[] = [];
  private readonly keepsText: boolean;

  constructor(
    private readonly ctx: Context,
    private readonly dialect: ScriptDialect,
    private readonly target: ScriptTarget,
    private readonly out: ScriptFile,
  ) {
    this.steps = new StepFingerprint(dialect.rowHash, target.stepColumns);
    this.keepsText = ctx.adapter.keepsJsonText(target.specType);
  }

  seen(_workflows: readonly unknown[], steps: readonly StepRow[], updates: readonly WorkflowUpdate[]): void {
    for (const row of steps) {
      if (row.specError) this.unreadable.push(row);
      else this.steps.add(row);
    }
    for (const u of updates) this.write(u);
  }

  private write(u: WorkflowUpdate): void {
    const row = {
      uid: u.uid,
      version: u.version,
      oldHash: u.oldSpec === null ? null : hash(this.dialect.rowHash, u.oldSpec, 'buffer'),
      newSpec: u.newSpec,
      writtenHash: writtenHash(u.newSpec, this.keepsText),
    };
    // The plan is the rows and what they hold before and after: their keys and the two hashes.
    this.plan.update(JSON.stringify([row.uid, row.version, row.oldHash?.toString('hex') ?? null, row.writtenHash]));
    this.largest = Math.max(this.largest, this.out.write(this.dialect.row(this.target, row)));
  }

  /** Adds the rows whose spec could not be read as text, read again as bytes. */
  async readUnreadable(): Promise<void> {
    const { adapter, store } = this.ctx;
    if (this.unreadable.length === 0) return;
    const bytes = adapter.asJsonBytes?.('spec');
    if (!bytes) throw new Error('a spec that is not text where the database has only text');
    const hasVersion = this.target.stepColumns.some((c) => c.field === 'version');
    for (const row of this.unreadable) {
      const [found] = await adapter.query<{ b: Buffer }>(
        `SELECT ${bytes} AS b FROM ?? WHERE uid = ?${hasVersion ? ' AND version = ?' : ''}`,
        [qualified(store.step), row.uid, ...(hasVersion ? [row.version] : [])],
      );
      const values = this.target.stepColumns.map(({ field }) =>
        field === 'spec' ? (found?.b ?? null) : (row[field] as string | null | undefined),
      );
      this.steps.addBytes(values);
    }
  }

  /** The plan's fingerprint: SHA-256 of each workflow row's key and hashes, and of the step table's count and sum. */
  planFingerprint(steps: HashSum): string {
    return this.plan.update(`${steps.rows}:${steps.sum}`).digest('hex');
  }
}

/** The header: what the script does, from which plan, how to run it; the plan's numbers come last. */
function writeHeader(out: ScriptFile, ctx: Context, dialect: ScriptDialect, file: string): Slot {
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
  out.write(lines.map((l) => (l ? `-- ${l}\n` : '--\n')).join(''));
  const slot = out.slot(PLAN_LINES_SLOT);
  out.write('\n' + END_OF_HEADER);
  return slot;
}

/** The header's plan lines (comments, padded into their slot). */
function planLines(plan: Plan, steps: HashSum, fingerprint: string): string {
  const s = plan.summary;
  return [
    `-- Plan: ${s.stepRows} step row(s): ${s.folded} folded, ${s.unchanged} unchanged, ${s.orphans} orphan(s),`,
    `--   ${s.conflicts} conflict(s), ${s.invalid} invalid; ${s.workflowsUpdated} workflow row(s) rewritten.`,
    `-- Step table as read: ${steps.rows} row(s), hash sum ${steps.sum}.`,
    `-- Plan fingerprint (SHA-256 of each row's key, old and new spec hash, and the step table's count and sum):`,
    `--   ${fingerprint}`,
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
