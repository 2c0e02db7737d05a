import { MemoryWorkflowList, type Plan } from '../core/plan.js';
import type { Dialect } from '../config/db-url.js';

export type Mode = 'dry-run' | 'apply' | 'status' | 'rollback' | 'cleanup';

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
}

/** What a rollback did (or, with --dry-run, would do). */
export interface RollbackResult {
  run: string | null;
  workflowsRestored: number;
  drifted: { uid: string; version: string; reason: string }[];
  forced: number;
  tablesRestored: string[];
  message: string;
}

/** The JSON report: a contract that scripts depend on; fields are only ever added, never renamed or removed. */
export interface Report {
  reportVersion: 1;
  mode: Mode;
  dryRun: boolean;
  runId: string;
  /** `source`: where the URL came from (`--db`, `STEPCFG_DB_URL`, `CTRL_DB_PATH`, `.env <path>`, `config <path>`). */
  database: { dialect: Dialect; url: string; source: string };
  outcome: 'done' | 'planned' | 'blocked' | 'up-to-date' | 'work-left' | 'nothing-to-do';
  summary: Plan['summary'];
  blockers: string[];
  notes: string[];
  status?: { pending: number; mismatched: number; upToDate: boolean };
  drop?: { keptAs: string[]; orphansFile: string | null };
  rollback?: RollbackResult;
  cleanup?: { dropped: string[] };
  runs?: RunListing[];
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
  extra?: Partial<Pick<Report, 'drop' | 'rollback' | 'cleanup' | 'runs'>>;
}): Report {
  const { plan } = input;
  const report: Report = {
    reportVersion: 1,
    mode: input.mode,
    dryRun: input.dryRun,
    runId: input.runId,
    database: { dialect: input.dialect, url: input.url, source: input.source ?? '--db' },
    outcome: input.outcome,
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
  if (input.mode === 'status') {
    report.status = {
      pending: plan.summary.folded,
      mismatched: plan.conflicts.length,
      upToDate: input.outcome === 'up-to-date',
    };
  }
  return report;
}

/**
 * The report as pretty-printed JSON (what `JSON.stringify(report, null, 2)` gives), in chunks:
 * the list of workflow rows is written one entry at a time, so a report of a million-row run is
 * never held whole in memory.
 */
export function* reportJson(report: Report): Generator<string> {
  const mark = '\u0000workflows\u0000';
  const { workflows, ...rest } = report;
  const [head, tail] = JSON.stringify({ ...rest, workflows: mark }, null, 2).split(JSON.stringify(mark)) as [
    string,
    string,
  ];
  let out = head;
  if (workflows.length === 0) out += '[]';
  else {
    let first = true;
    for (const w of workflows) {
      out += (first ? '[\n' : ',\n') + JSON.stringify(w, null, 2).replace(/^/gm, '    ');
      first = false;
      if (out.length >= 1 << 18) {
        yield out;
        out = '';
      }
    }
    out += '\n  ]';
  }
  yield `${out}${tail}\n`;
}
