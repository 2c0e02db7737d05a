import { MemoryWorkflowList, type Plan } from '../core/plan.js';
import type { Dialect } from '../config/db-url.js';
import { prettyJsonChunks } from './json-chunks.js';
import type { PlanDiff } from '../plan-file/compare.js';

export type Mode = 'dry-run' | 'apply' | 'status' | 'rollback' | 'cleanup' | 'runs';

/** A recorded run as `status` lists it. */
export interface RunListing {
  id: string;
  mode: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  tableDropped: boolean;
  workflowsUpdated: number;
  canRollBack: boolean;
  /** Where the run ran: host name and process id. */
  host: string;
  pid: number;
  /** The reviewed plan the run carried out (`--plan`), when it did. */
  planFile?: PlanFileRef | null;
}

/** A plan file: where, and the sha256 of its bytes, which names it. */
export interface PlanFileRef {
  path: string;
  sha256: string;
}

/**
 * Entries of a report, one per row of a table: an array, or a list too long for memory (a
 * `SpillingList`), which the report's JSON writes entry by entry. Iterated, never indexed.
 */
export interface RowList<T> extends Iterable<T> {
  readonly length: number;
}

/** A workflow row edited after the run a rollback undoes. */
export interface DriftedRow {
  uid: string;
  version: string;
  reason: string;
  /** The row's name (null when the row is gone). */
  name: string | null;
  /** The top-level spec keys that differ between what the run wrote and what is there now. */
  keys: string[];
  /** Of those, the edits `--force` keeps (all but `step_configurations`, which it restores). */
  forceKeeps: string[];
}

/** A workflow row a rollback restores (listed with `--verbose` or a JSON report). */
export interface RestoredRow {
  uid: string;
  version: string;
  name: string;
  /** Edited since the run, restored by `--force` (its other edits kept). */
  forced: boolean;
}

/** What a rollback did (or, with --dry-run, would do). */
export interface RollbackResult {
  /** The run undone (same as `runId`). */
  run: string | null;
  /** Rows given back their original spec; a refused rollback restores none. */
  workflowsRestored: number;
  /** One per row edited since: listed in a report, so possibly many (see `RowList`). */
  drifted: RowList<DriftedRow>;
  forced: number;
  /** Names of the tables brought back (would be, in a dry run). */
  tablesRestored: string[];
  message: string;
  runId: string | null;
  /** When the undone run started, and what it did. */
  runStartedAt: string | null;
  runWorkflowsUpdated: number;
  runTableDropped: boolean;
  /** Rows whose spec this rollback writes when it goes through: unchanged since the run, plus forced ones. */
  workflowsToRestore: number;
  /** Those rows, when a report or `--verbose` asks for them. */
  workflows?: RowList<RestoredRow>;
  /** The tables that come back, with the rows their kept copies hold. */
  tables: { table: string; rows: number }[];
  /** Whether the rollback is (would be) refused: exit 3, nothing written. */
  refused: boolean;
}

/** A row the fold leaves in the step table by the policy given (an orphan, a skipped invalid row, a kept conflict). */
export interface LeftRow {
  kind: 'orphan' | 'invalid' | 'conflict';
  uid: string;
  version: string;
  name: string | null;
  reason: string;
}

/** `status`: what is left to fold, judged by the policy given (strict without flags). */
export interface StatusResult {
  pending: number;
  mismatched: number;
  upToDate: boolean;
  /** Rows the policy leaves where they are: not work, not folded. */
  left: number;
  leftRows: LeftRow[];
}

/** The JSON report: a contract that scripts depend on; fields are only ever added, never renamed or removed. */
export interface Report {
  reportVersion: 1;
  mode: Mode;
  dryRun: boolean;
  runId: string;
  /** `source`: where the URL came from (`--db`, `STEPCFG_DB_URL`, `CTRL_DB_PATH`, `.env <path>`, `config <path>`). */
  database: { dialect: Dialect; url: string; source: string };
  outcome: 'done' | 'planned' | 'blocked' | 'up-to-date' | 'work-left' | 'nothing-to-do' | 'listed' | 'cancelled';
  summary: Plan['summary'];
  blockers: string[];
  notes: string[];
  status?: StatusResult;
  drop?: { keptAs: string[]; orphansFile: string | null };
  rollback?: RollbackResult;
  cleanup?: { dropped: string[] };
  runs?: RunListing[];
  /** The plan file written (`--out`) or carried out (`--plan`). */
  planFile?: PlanFileRef;
  /** With `--plan`, when the data no longer gives the reviewed plan: how it differs, by key. */
  planDiff?: PlanDiff;
  orphans: Plan['orphans'];
  conflicts: Plan['conflicts'];
  invalid: Plan['invalid'];
  warnings: Plan['warnings'];
  workflows: Plan['workflows'];
}

/** A plan with nothing in it, for the modes that do not plan (rollback, cleanup). */
export function emptyPlan(): Plan {
  return {
    summary: {
      stepRows: 0,
      folded: 0,
      unchanged: 0,
      workflowsUpdated: 0,
      orphans: 0,
      conflicts: 0,
      invalid: 0,
      warnings: 0,
      tableDropped: false,
    },
    orphans: [],
    conflicts: [],
    invalid: [],
    warnings: [],
    workflows: new MemoryWorkflowList(),
    blockers: [],
  };
}

/** Builds the report of a run from its plan and whatever its mode adds. */
export function buildReport(input: {
  mode: Mode;
  dryRun: boolean;
  runId: string;
  dialect: Dialect;
  url: string;
  /** Where the URL came from; `--db` when not said. */
  source?: string;
  plan: Plan;
  notes: string[];
  outcome: Report['outcome'];
  extra?: Partial<Pick<Report, 'drop' | 'rollback' | 'cleanup' | 'runs' | 'status' | 'planFile' | 'planDiff'>>;
}): Report {
  const { plan } = input;
  const report: Report = {
    reportVersion: 1,
    mode: input.mode,
    dryRun: input.dryRun,
    runId: input.runId,
    database: { dialect: input.dialect, url: input.url, source: input.source ?? '--db' },
    outcome: input.outcome,
    // A rollback's report leads with the rollback; its fold counts are all zero.
    ...(input.extra?.rollback ? { rollback: input.extra.rollback } : {}),
    summary: plan.summary,
    blockers: plan.blockers,
    notes: input.notes,
    ...input.extra,
    orphans: plan.orphans,
    conflicts: plan.conflicts,
    invalid: plan.invalid,
    warnings: plan.warnings,
    workflows: plan.workflows,
  };
  if (input.mode === 'status') report.status = input.extra?.status ?? statusOf(plan, input.outcome, DEFAULT_POLICY);
  return report;
}

const DEFAULT_POLICY = { skipInvalid: false, strict: false };

/**
 * The status object: pending rows and mismatched items are work; the rows the policy leaves
 * (orphans unless `--strict`, invalid rows under `--skip-invalid`, conflicts kept under
 * `--on-conflict keep`) are listed apart, as left.
 */
export function statusOf(
  plan: Plan,
  outcome: Report['outcome'],
  policy: { skipInvalid: boolean; strict: boolean },
): StatusResult {
  const leftRows: LeftRow[] = [
    ...(policy.strict ? [] : plan.orphans).map((o) => ({
      kind: 'orphan' as const,
      uid: o.uid,
      version: o.version,
      name: o.name,
      reason: o.reason,
    })),
    ...(policy.skipInvalid ? plan.invalid : []).map((i) => ({
      kind: 'invalid' as const,
      uid: i.uid,
      version: i.version,
      name: i.name,
      reason: i.reason,
    })),
    ...plan.conflicts
      .filter((c) => c.resolution === 'kept')
      .map((c) => ({
        kind: 'conflict' as const,
        uid: c.stepUid,
        version: c.stepVersion,
        name: c.name,
        reason: c.reason,
      })),
  ];
  return {
    pending: plan.summary.folded,
    mismatched: plan.conflicts.filter((c) => c.resolution === 'blocking').length,
    upToDate: outcome === 'up-to-date' || outcome === 'nothing-to-do',
    left: leftRows.length,
    leftRows,
  };
}

/**
 * The report as pretty-printed JSON (what `JSON.stringify(report, null, 2)` gives, with its lists
 * as arrays), in chunks: the lists of workflow rows are written one entry at a time, so a report
 * of a million-row run is never held whole in memory.
 */
export function* reportJson(report: Report): Generator<string> {
  yield* prettyJsonChunks(report);
  yield '\n';
}
