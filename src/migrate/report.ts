import type { Plan } from '../core/plan.js';
import type { Dialect } from '../config/db-url.js';

export type Mode = 'dry-run' | 'apply' | 'status';

/** The JSON report (SPEC 3): a contract scripts depend on; fields are only ever added. */
export interface Report {
  reportVersion: 1;
  mode: Mode;
  runId: string;
  database: { dialect: Dialect; url: string };
  outcome: 'done' | 'planned' | 'blocked' | 'up-to-date' | 'work-left';
  summary: Plan['summary'];
  blockers: string[];
  notes: string[];
  status?: { pending: number; mismatched: number; upToDate: boolean };
  orphans: Plan['orphans'];
  conflicts: Plan['conflicts'];
  invalid: Plan['invalid'];
  warnings: Plan['warnings'];
  workflows: Plan['workflows'];
}

/** Builds the report of a run from its plan. */
export function buildReport(input: {
  mode: Mode;
  runId: string;
  dialect: Dialect;
  url: string;
  plan: Plan;
  notes: string[];
  outcome: Report['outcome'];
}): Report {
  const { plan } = input;
  const report: Report = {
    reportVersion: 1,
    mode: input.mode,
    runId: input.runId,
    database: { dialect: input.dialect, url: input.url },
    outcome: input.outcome,
    summary: plan.summary,
    blockers: plan.blockers,
    notes: input.notes,
    orphans: plan.orphans,
    conflicts: plan.conflicts,
    invalid: plan.invalid,
    warnings: plan.warnings,
    workflows: plan.workflows,
  };
  if (input.mode === 'status') {
    const mismatched = plan.conflicts.length;
    report.status = {
      pending: plan.summary.folded,
      mismatched,
      upToDate: input.outcome === 'up-to-date',
    };
  }
  return report;
}
