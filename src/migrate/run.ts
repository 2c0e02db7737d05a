import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Plan } from '../core/plan.js';
import type { PlanOptions } from '../core/types.js';
import { redact, type DatabaseTarget } from '../config/db-url.js';
import type { DialectAdapter } from '../dialect/adapter.js';
import { openAdapter, secretsOf } from '../dialect/connect.js';
import { ExitCode, NOTHING_WRITTEN, ToolError, type ExitCodeValue } from '../errors.js';
import { apply, dropBlockers, finishPendingDrops } from './apply.js';
import { Bookkeeping, type RunRecord } from './bookkeeping.js';
import { preflight, type TableNames } from './preflight.js';
import { buildReport, type Mode, type Report, type RunListing } from './report.js';
import { cleanup, nothingToRollBack, rollback } from './rollback.js';
import { scanPlan, type Progress, type ScanOptions } from './scan.js';
import type { Store } from './store.js';

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
  backupFile?: string;
  /** Who runs it, for the run record: host name and process id; `alive` tells whether a pid of this host runs. */
  origin: { host: string; pid: number; alive?: (pid: number) => boolean };
  /** Aborted on SIGINT/SIGTERM: the connection is dropped and the database rolls back. */
  signal?: AbortSignal;
  /** Asks the operator before a destructive step; false without --yes when nobody can answer. */
  confirm: (question: string) => Promise<boolean>;
  progress?: (p: Progress) => void;
  /** Called with each statement sent to the database (the CLI's `STEPCFG_SQL_LOG`). */
  trace?: (sql: string) => void;
}

export interface RunResult {
  exitCode: ExitCodeValue;
  report: Report;
}

/** One open run: the request, the database, and what preflight found. */
export interface Context {
  req: RunRequest;
  adapter: DialectAdapter;
  store: Store;
  book: Bookkeeping;
  notes: string[];
  droppedBy: RunRecord | null;
  runId: string;
  startedAt: string;
  /** Files this run wrote (orphans, backup copy): removed again if the run commits nothing. */
  outputs: string[];
}

/** Whether a request writes (and so locks, and runs in a writing transaction). */
function writing(req: RunRequest): boolean {
  return !req.dryRun && (req.mode === 'apply' || req.mode === 'rollback' || req.mode === 'cleanup');
}

/** Runs one mode against the database: opens, preflights, does the mode's work, closes. */
export async function runMigration(req: RunRequest): Promise<RunResult> {
  const secrets = secretsOf(req.target);
  const writes = writing(req);
  const label = `stepcfg-migrate ${req.origin.host} pid ${req.origin.pid}`;
  const adapter = await openAdapter(req.target, {
    readOnly: !writes,
    timeoutMs: req.lockTimeoutMs,
    label,
    trace: req.trace,
  });
  const abort = () => adapter.abort();
  const outputs: string[] = [];
  // A run that exits non-zero without having committed leaves no file behind either.
  const removeOutputs = () => {
    if (!adapter.committed) for (const file of outputs) rmSync(file, { force: true });
  };
  req.signal?.addEventListener('abort', abort, { once: true });
  try {
    // A signal that came while the connection opened is answered as one that comes later.
    if (req.signal?.aborted) abort();
    if (writes) {
      try {
        await takeRunLock(req, adapter);
      } catch (e) {
        if (adapter.isLockTimeout(e)) throw await lockedError(req, adapter);
        throw e;
      }
    }
    const notes: string[] = [];
    if (req.mode === 'apply' && !req.dryRun) {
      const schema = req.tables.schema ?? (await adapter.defaultSchema());
      notes.push(...(await finishPendingDrops(adapter, new Bookkeeping(adapter, schema))));
    }
    if (req.mode === 'cleanup' || req.mode === 'rollback') {
      const schema = req.tables.schema ?? (await adapter.defaultSchema());
      const book = new Bookkeeping(adapter, schema);
      if (req.mode === 'cleanup') return await cleanup(req, adapter, book, randomUUID());
      // Nothing recorded (never applied, or cleaned up): no step table needed to say so.
      if (!(await book.exists())) {
        if (req.runId !== undefined)
          throw new ToolError(`no applied run "${req.runId}": this database has no run table`, ExitCode.usage);
        return nothingToRollBack(req, randomUUID(), await adapter.notes());
      }
    }
    const found = await preflight(adapter, req.tables, { write: writes });
    const ctx: Context = {
      req,
      adapter,
      ...found,
      notes: [...found.notes, ...notes],
      runId: randomUUID(),
      startedAt: new Date().toISOString(),
      outputs,
    };
    if (!writes) return await inspect(ctx);
    const started = await ctx.book.startRun(runRecord(ctx));
    try {
      const done = req.mode === 'rollback' ? await rollback(ctx) : await apply(ctx);
      if (done.exitCode !== ExitCode.ok) removeOutputs();
      return done;
    } finally {
      if (started && !req.signal?.aborted) await ctx.book.forgetRun(ctx.runId).catch(() => undefined);
    }
  } catch (e) {
    removeOutputs();
    if (req.signal?.aborted) throw new Interrupted(adapter.committed);
    // SQLite's write lock is its run lock; elsewhere a lock timeout after the run lock is somebody
    // else's row or table lock (the controller's, a long transaction's).
    if (adapter.isLockTimeout(e) && !adapter.lockRunIsSeparate) throw await lockedError(req, adapter);
    if (adapter.isLockTimeout(e)) {
      throw new ToolError(
        `another session kept a lock on the tables for longer than --lock-timeout (${req.lockTimeoutMs / 1000} s)${adapter.committed ? '' : `; ${NOTHING_WRITTEN}`}; try again when it is done`,
      );
    }
    await adapter.rollback().catch(() => undefined);
    if (e instanceof ToolError) throw new ToolError(redact(e.message, secrets), e.exitCode, { cause: e });
    const line = adapter.describeError(e) ?? `unexpected error: ${(e as Error)?.message ?? String(e)}`;
    const outcome = adapter.committed
      ? 'part of the run had committed: run the same command again to finish it'
      : NOTHING_WRITTEN;
    throw new ToolError(redact(`${line}; ${outcome}`, secrets), ExitCode.runtime, { cause: e });
  } finally {
    req.signal?.removeEventListener('abort', abort);
    await adapter.close().catch(() => undefined);
  }
}

/** A run stopped by a signal: its connection was dropped, so the database rolled it back. */
export class Interrupted extends Error {
  /** Whether part of the run had already committed (MySQL: a fold before its drop; a rollback's tables). */
  constructor(readonly afterCommit = false) {
    super('interrupted');
  }
}

/**
 * The lock that keeps writing runs on one set of tables apart: named by schema (PostgreSQL) or
 * database (MySQL, whose GET_LOCK names are server-wide) and workflow table.
 */
async function lockKey(req: RunRequest, adapter: DialectAdapter): Promise<string> {
  return `stepcfg-migrate:${req.tables.schema ?? (await adapter.defaultSchema()) ?? ''}.${req.tables.workflow}`;
}

async function takeRunLock(req: RunRequest, adapter: DialectAdapter): Promise<void> {
  await adapter.lockRun?.(await lockKey(req, adapter), req.lockTimeoutMs);
}

/** Exit 4, naming the run that holds the lock: from the run table, else as the server knows it. */
async function lockedError(req: RunRequest, adapter: DialectAdapter): Promise<ToolError> {
  await adapter.rollback().catch(() => undefined);
  let who: string | undefined;
  try {
    const schema = req.tables.schema ?? (await adapter.defaultSchema());
    // A `running` record of this host whose process is gone was left by a killed run: not the holder.
    const alive = (r: RunRecord) => r.host !== req.origin.host || (req.origin.alive?.(r.pid) ?? true);
    const holder = (await new Bookkeeping(adapter, schema).runningRecords()).filter(alive).at(-1);
    const server = await adapter.lockHolder?.(await lockKey(req, adapter));
    const recorded = holder
      ? `run ${holder.id} on host ${holder.host}, pid ${holder.pid}, started ${holder.startedAt}`
      : undefined;
    who = [recorded, server && `the server names ${server}`].filter(Boolean).join('; ') || undefined;
  } catch {
    // the lock is what matters; who holds it is a courtesy
  }
  return new ToolError(
    `another stepcfg-migrate run holds the lock${who ? ` (${who})` : ''}; waited ${req.lockTimeoutMs / 1000} s (--lock-timeout); ${NOTHING_WRITTEN}`,
    ExitCode.locked,
  );
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

/** The report of a run, with its exit code. */
export function result(
  ctx: Pick<Context, 'req' | 'runId' | 'notes'>,
  plan: Plan,
  outcome: Report['outcome'],
  exitCode: ExitCodeValue,
  extra?: Parameters<typeof buildReport>[0]['extra'],
): RunResult {
  const { req } = ctx;
  const report = buildReport({
    mode: req.mode,
    dryRun: req.dryRun || req.mode === 'dry-run' || req.mode === 'status',
    runId: ctx.runId,
    dialect: req.target.dialect,
    url: req.target.display,
    plan,
    notes: ctx.notes,
    outcome,
    extra,
  });
  return { exitCode, report };
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
  const exactCount = !writing(ctx.req) || ctx.adapter.stableWrites || ctx.req.dropTable; // a drop freezes the table
  return scanPlan(ctx.store, ctx.req.plan, {
    batchSize: ctx.req.batchSize,
    lock: false,
    exactCount,
    progress: ctx.req.progress,
    ...options,
  });
}

/** `--backup-file`: a complete copy of the database (SQLite online backup), mode 0600, before writing. */
export async function backupBeforeWriting(
  req: RunRequest,
  adapter: DialectAdapter,
  notes: string[],
  outputs: string[],
): Promise<void> {
  if (!req.backupFile) return;
  if (!adapter.backupFile) throw new ToolError('--backup-file works with SQLite only', ExitCode.usage);
  outputs.push(req.backupFile);
  await adapter.backupFile(req.backupFile);
  notes.push(`a complete copy of the database was written to ${req.backupFile} before any change`);
}

/** Whether a recorded apply changed anything that a rollback could undo. */
export function hasChanges(run: RunRecord): boolean {
  const summary = JSON.parse(run.summary || '{}') as { workflowsUpdated?: number };
  return run.tableDropped || run.status === 'folded' || (summary.workflowsUpdated ?? 0) > 0;
}

/** The recorded runs as `status` lists them; only the newest run that changed something can be rolled back. */
export function listRuns(runs: RunRecord[]): RunListing[] {
  const undoable = runs.filter(
    (r) => r.mode === 'apply' && (r.status === 'applied' || r.status === 'folded') && hasChanges(r),
  );
  const newest = undoable.at(-1);
  return runs.map((r) => ({
    id: r.id,
    mode: r.mode,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    tableDropped: r.tableDropped,
    workflowsUpdated: Number((JSON.parse(r.summary || '{}') as { workflowsUpdated?: number }).workflowsUpdated ?? 0),
    canRollBack: r === newest,
  }));
}

/** Dry run and status: one read-only transaction, no lock, nothing created. */
async function inspect(ctx: Context): Promise<RunResult> {
  const [plan, runs] = await readOnly(ctx.adapter, async () => [await scan(ctx), await ctx.book.listRuns()] as const);
  plan.summary.tableDropped = ctx.droppedBy !== null;
  const blocked = plan.blockers.length > 0;
  if (ctx.req.mode === 'status') {
    const upToDate = !blocked && plan.summary.folded === 0;
    return result(ctx, plan, upToDate ? 'up-to-date' : 'work-left', upToDate ? ExitCode.ok : ExitCode.blocked, {
      runs: listRuns(runs),
    });
  }
  const blockers = [...plan.blockers, ...(ctx.req.dropTable ? await dropBlockers(ctx, plan) : [])];
  const done = { ...plan, blockers };
  return result(
    ctx,
    done,
    blockers.length > 0 ? 'blocked' : 'planned',
    blockers.length > 0 ? ExitCode.blocked : ExitCode.ok,
  );
}
