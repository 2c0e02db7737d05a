import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Plan } from '../core/plan.js';
import type { PlanOptions, Summary } from '../core/types.js';
import { redact, type DatabaseTarget } from '../config/db-url.js';
import type { DialectAdapter } from '../dialect/adapter.js';
import { openAdapter, secretsOf } from '../dialect/connect.js';
import { ExitCode, ToolError, type ExitCodeValue } from '../errors.js';
import { preflight, type TableNames } from './preflight.js';
import { buildReport, type Mode, type Report } from './report.js';
import { scanPlan, type Progress } from './scan.js';
import type { Store } from './store.js';

/** Everything a run needs, already validated by the CLI. */
export interface RunRequest {
  mode: Mode;
  target: DatabaseTarget;
  tables: TableNames;
  plan: PlanOptions;
  lockTimeoutMs: number;
  batchSize: number;
  toolVersion: string;
  progress?: (p: Progress) => void;
}

export interface RunResult {
  exitCode: ExitCodeValue;
  report: Report;
}

interface Context {
  req: RunRequest;
  adapter: DialectAdapter;
  store: Store;
  notes: string[];
  runId: string;
  startedAt: string;
}

/** Runs one mode against the database: opens, preflights, plans, writes (apply only), closes. */
export async function runMigration(req: RunRequest): Promise<RunResult> {
  const secrets = secretsOf(req.target);
  const adapter = await openAdapter(req.target, { readOnly: req.mode !== 'apply', timeoutMs: req.lockTimeoutMs });
  try {
    const { store, notes } = await preflight(adapter, req.tables, { write: req.mode === 'apply' });
    const ctx: Context = { req, adapter, store, notes, runId: randomUUID(), startedAt: new Date().toISOString() };
    return req.mode === 'apply' ? await apply(ctx) : await inspect(ctx);
  } catch (e) {
    if (e instanceof ToolError) throw new ToolError(redact(e.message, secrets), e.exitCode, { cause: e });
    const line = adapter.describeError(e) ?? `unexpected error: ${(e as Error)?.message ?? String(e)}`;
    throw new ToolError(redact(`${line}; nothing was written`, secrets), ExitCode.runtime, { cause: e });
  } finally {
    await adapter.close();
  }
}

function result(ctx: Context, plan: Plan, outcome: Report['outcome'], exitCode: ExitCodeValue): RunResult {
  const { req } = ctx;
  const report = buildReport({
    mode: req.mode,
    runId: ctx.runId,
    dialect: req.target.dialect,
    url: req.target.display,
    plan,
    notes: ctx.notes,
    outcome,
  });
  return { exitCode, report };
}

function scan(ctx: Context, options: Partial<Parameters<typeof scanPlan>[2]> = {}): Promise<Plan> {
  return scanPlan(ctx.store, ctx.req.plan, {
    batchSize: ctx.req.batchSize,
    lock: false,
    progress: ctx.req.progress,
    ...options,
  });
}

/** Dry run and status: one read-only transaction, no lock, nothing created. */
async function inspect(ctx: Context): Promise<RunResult> {
  await ctx.adapter.begin('read');
  let plan: Plan;
  try {
    plan = await scan(ctx);
  } finally {
    await ctx.adapter.rollback();
  }
  const blocked = plan.blockers.length > 0;
  if (ctx.req.mode === 'status') {
    const upToDate = !blocked && plan.summary.folded === 0;
    return result(ctx, plan, upToDate ? 'up-to-date' : 'work-left', upToDate ? ExitCode.ok : ExitCode.blocked);
  }
  return result(ctx, plan, blocked ? 'blocked' : 'planned', blocked ? ExitCode.blocked : ExitCode.ok);
}

const COUNTED: (keyof Summary)[] = ['stepRows', 'folded', 'unchanged', 'workflowsUpdated', 'orphans', 'conflicts', 'invalid'];

/**
 * Apply: plan, and only when nothing blocks, write in one transaction with the run record. The
 * writing pass re-reads every batch under lock and must reproduce the plan's numbers exactly.
 */
async function apply(ctx: Context): Promise<RunResult> {
  const { adapter, store } = ctx;
  if (!adapter.transactionalDdl && !(await store.hasRunsTable())) {
    // DDL would commit at once here: create the run table only for a plan that will go through.
    await adapter.begin('read');
    let first: Plan;
    try {
      first = await scan(ctx);
    } finally {
      await adapter.rollback();
    }
    if (first.blockers.length > 0) return result(ctx, first, 'blocked', ExitCode.blocked);
    await store.createRunsTable();
  }
  await adapter.begin('write');
  try {
    if (adapter.transactionalDdl && !(await store.hasRunsTable())) await store.createRunsTable();
    const plan = await scan(ctx);
    if (plan.blockers.length > 0) {
      await adapter.rollback();
      return result(ctx, plan, 'blocked', ExitCode.blocked);
    }
    let written = plan;
    if (plan.summary.workflowsUpdated > 0) {
      written = await scan(ctx, {
        lock: true,
        write: (updates) => store.writeSpecs(updates.map((u) => ({ uid: u.uid, version: u.version, spec: u.newSpec }))),
      });
      const changed = COUNTED.filter((k) => written.summary[k] !== plan.summary[k]);
      if (changed.length > 0 || written.blockers.length > 0) {
        throw new ToolError(
          `the data changed while the run was writing (${changed.join(', ') || 'new problems'}); nothing was written, run again`,
        );
      }
    }
    await store.recordRun({
      id: ctx.runId,
      mode: 'apply',
      status: 'applied',
      startedAt: ctx.startedAt,
      finishedAt: new Date().toISOString(),
      host: hostname(),
      pid: process.pid,
      toolVersion: ctx.req.toolVersion,
      stepTable: store.step.table,
      workflowTable: store.workflow.table,
      options: JSON.stringify(ctx.req.plan),
      summary: JSON.stringify(written.summary),
    });
    await adapter.commit();
    return result(ctx, written, 'done', ExitCode.ok);
  } catch (e) {
    await adapter.rollback().catch(() => undefined);
    throw e;
  }
}
