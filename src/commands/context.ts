import { randomUUID } from 'node:crypto';
import type { Plan } from '../core/plan.js';
import type { PlanOptions } from '../core/types.js';
import type { DatabaseTarget } from '../config/db-url.js';
import type { DialectAdapter } from '../dialect/adapter.js';
import { ExitCode, ToolError, type ExitCodeValue } from '../errors.js';
import type { Bookkeeping, RunRecord } from '../migrate/bookkeeping.js';
import { preflight, type TableNames } from '../migrate/preflight.js';
import { buildReport, type Mode, type Report } from '../migrate/report.js';
import { scanPlan, type Progress, type ScanOptions } from '../migrate/scan.js';
import type { Store } from '../migrate/store.js';
import type { LoadedPlan } from '../plan-file/reader.js';

/** Everything a run needs, already validated by the CLI. */
export interface RunRequest {
  mode: Mode;
  /** With `rollback` and `cleanup`: show what would happen, write nothing (dry-run mode implies it). */
  dryRun: boolean;
  target: DatabaseTarget;
  tables: TableNames;
  plan: PlanOptions;
  lockTimeoutMs: number;
  batchSize: number;
  toolVersion: string;
  dropTable: boolean;
  orphansOut?: string;
  /** `--rollback --run ID`: the run to undo (default: the latest that changed something). */
  runId?: string;
  force: boolean;
  /** `--if-exists`: a step table that is simply not there is nothing to migrate (exit 0). */
  ifExists?: boolean;
  backupFile?: string;
  /** `--out FILE` (a dry run): where the plan is written, to be carried out later with `--plan`. */
  planOut?: string;
  /**
   * `--plan FILE`: the reviewed plan this run carries out, or nothing. `given` names the policy
   * flags the command line gave (the others are taken from the plan); `loaded` is the plan once
   * read and checked, before connecting.
   */
  fromPlan?: { path: string; given: string[]; loaded?: LoadedPlan };
  /** `plan --sql-out FILE`: write the plan as a guarded SQL script for the database's own shell. */
  sqlOut?: string;
  /** Who runs it, for the run record: host name and process id; `alive` tells whether a pid of this host runs. */
  origin: { host: string; pid: number; alive?: (pid: number) => boolean };
  /** Aborted on SIGINT/SIGTERM: the connection is dropped and the database rolls back. */
  signal?: AbortSignal;
  /**
   * Whether the operator approves writing: `yes` (--yes), `ask` (a terminal: the plan is shown,
   * then one question), `nobody` (no terminal: only what can be rolled back runs unasked).
   */
  confirmation: 'yes' | 'ask' | 'nobody';
  /** Shows the preview of what will be written, asks the question; true for yes. */
  confirm: (question: string, preview: Report) => Promise<boolean>;
  progress?: (p: Progress) => void;
  /** Called with each statement sent to the database (the CLI's `STEPCFG_SQL_LOG`). */
  trace?: (sql: string) => void;
}

export interface RunResult {
  exitCode: ExitCodeValue;
  report: Report;
}

/** A connection opened for a request, before any table of the database was looked at. */
export interface Session {
  req: RunRequest;
  adapter: DialectAdapter;
  /** Files this run wrote (orphans, backup copy): removed again if the run commits nothing. */
  outputs: string[];
}

/** One run on tables that passed preflight: the request, the database, and what preflight found. */
export interface Context extends Session {
  store: Store;
  book: Bookkeeping;
  notes: string[];
  droppedBy: RunRecord | null;
  runId: string;
  startedAt: string;
}

/** Whether a request writes (and so locks, and runs in a writing transaction). */
export function writing(req: RunRequest): boolean {
  return !req.dryRun && (req.mode === 'apply' || req.mode === 'rollback' || req.mode === 'cleanup');
}

/** The schema the run's tables live in: `--schema`, else the connection's default. */
export async function schemaOf(session: Session): Promise<string | undefined> {
  return session.req.tables.schema ?? (await session.adapter.defaultSchema());
}

/** Checks the tables of the request and opens the run on them (see `preflight`). */
export async function openRun(session: Session, notes: string[] = []): Promise<Context> {
  const found = await preflight(session.adapter, session.req.tables, { write: writing(session.req) });
  return {
    ...session,
    ...found,
    notes: [...found.notes, ...notes],
    runId: randomUUID(),
    startedAt: new Date().toISOString(),
  };
}

/** A run's record: who and when from the context, the rest as given (by default a `running` marker). */
export function runRecord(ctx: Context, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    id: ctx.runId,
    mode: ctx.req.mode === 'rollback' ? 'rollback' : 'apply',
    status: 'running',
    startedAt: ctx.startedAt,
    finishedAt: null,
    host: ctx.req.origin.host,
    pid: ctx.req.origin.pid,
    toolVersion: ctx.req.toolVersion,
    stepTable: ctx.req.tables.step,
    workflowTable: ctx.req.tables.workflow,
    options: '{}',
    summary: '{}',
    tableDropped: false,
    keptStepTable: null,
    keptLabelsTable: null,
    restoreDdl: null,
    rolledBackBy: null,
    rolledBackAt: null,
    ...fields,
  };
}

/**
 * Runs a writing command with a `running` record in the run table while it holds the lock (so
 * that a waiting run can name it); a command that ends without recording its outcome leaves no
 * record. After a signal the connection is gone and the record stays: `status` lists it as
 * `interrupted`, and the next writing run records it so.
 */
export async function whileRecordedRunning(ctx: Context, fn: () => Promise<RunResult>): Promise<RunResult> {
  const started = await ctx.book.startRun(runRecord(ctx));
  try {
    return await fn();
  } finally {
    if (started && !ctx.req.signal?.aborted) await ctx.book.forgetRun(ctx.runId).catch(() => undefined);
  }
}

/** The report of a run, with its exit code. */
export function result(
  ctx: Pick<Context, 'req' | 'runId' | 'notes'>,
  plan: Plan,
  outcome: Report['outcome'],
  exitCode: ExitCodeValue,
  extra?: Parameters<typeof buildReport>[0]['extra'],
): RunResult {
  const { req } = ctx;
  const loaded = req.fromPlan?.loaded;
  // A run from a reviewed plan names it in every report it ends with.
  if (loaded) extra = { planFile: { path: loaded.path, sha256: loaded.sha256 }, ...extra };
  const report = buildReport({
    mode: req.mode,
    dryRun: req.dryRun || req.mode === 'dry-run' || req.mode === 'status',
    runId: ctx.runId,
    dialect: req.target.dialect,
    url: req.target.display,
    source: req.target.source,
    plan,
    notes: ctx.notes,
    outcome,
    extra,
  });
  return { exitCode, report };
}

/** A blocked run's result: the plan with the reasons it cannot go ahead, exit 3. */
export function blockedResult(
  ctx: Pick<Context, 'req' | 'runId' | 'notes'>,
  plan: Plan,
  blockers: string[],
  extra?: Parameters<typeof buildReport>[0]['extra'],
): RunResult {
  return result(ctx, { ...plan, blockers }, 'blocked', ExitCode.blocked, extra);
}

/** Runs `fn` in a read-only transaction that is always rolled back. */
export async function readOnly<T>(adapter: DialectAdapter, fn: () => Promise<T>): Promise<T> {
  await adapter.begin('read');
  try {
    return await fn();
  } finally {
    await adapter.rollback();
  }
}

/** One planning (or, with `write`, writing) pass over the data of the run. */
export function scan(ctx: Context, options: Partial<ScanOptions> = {}): Promise<Plan> {
  // Every row must be accounted for where nothing can add rows meanwhile; a drop freezes the table.
  const exactCount = !writing(ctx.req) || ctx.adapter.stableWrites || ctx.req.dropTable;
  return scanPlan(ctx.store, ctx.req.plan, {
    batchSize: ctx.req.batchSize,
    lock: false,
    exactCount,
    progress: ctx.req.progress,
    ...options,
  });
}

/** `--backup-file`: a complete copy of the database (SQLite online backup), mode 0600, before writing. */
export async function backupBeforeWriting(ctx: Pick<Context, 'req' | 'adapter' | 'notes' | 'outputs'>): Promise<void> {
  const { req, adapter } = ctx;
  if (!req.backupFile) return;
  if (!adapter.backupFile) throw new ToolError('--backup-file works with SQLite only', ExitCode.usage);
  ctx.outputs.push(req.backupFile);
  await adapter.backupFile(req.backupFile);
  ctx.notes.push(`a complete copy of the database was written to ${req.backupFile} before any change`);
}
