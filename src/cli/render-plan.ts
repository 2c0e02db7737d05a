import type { ChalkInstance } from 'chalk';
import type { KeyList } from '../plan-file/compare.js';
import type { Report } from '../migrate/report.js';

/** Keys a terminal shows per kind of difference; the JSON report has the first thousand. */
const KEYS_SHOWN = 10;

/** The plan file a run wrote (`--out`) or carried out (`--plan`), and how to go on from a written one. */
export function planFileLines(report: Report): string[] {
  const f = report.planFile;
  if (!f) return [];
  if (report.dryRun) return ['', `Plan written to ${f.path} (sha256 ${f.sha256})`];
  const what =
    report.outcome === 'done'
      ? 'Plan carried out'
      : report.outcome === 'planned'
        ? 'Reviewed plan'
        : 'Reviewed plan, not carried out';
  return ['', `${what}: ${f.path} (sha256 ${f.sha256})`];
}

/** After a plan that goes through: how to carry out the plan file written, if one was. */
export function nextStep(report: Report): string | undefined {
  if (!report.planFile || !report.dryRun) return undefined;
  const verb = report.mode === 'rollback' ? 'rollback' : 'apply';
  return `Review it, then carry it out with: stepcfg-migrate ${verb} --plan ${report.planFile.path}`;
}

/** What changed since a reviewed plan, by key: each kind of difference, its first rows, how many more. */
export function planDiffLines(report: Report, c: ChalkInstance): string[] {
  const d = report.planDiff;
  if (!d) return [];
  const rows = report.mode === 'rollback' ? 'workflow rows to restore' : 'workflow rows';
  const lines = ['', c.red.bold('Changed since the plan:')];
  const list = (what: string, k: KeyList) => {
    if (k.count === 0) return;
    lines.push(`  ${what} (${k.count}):`);
    for (const key of k.keys.slice(0, KEYS_SHOWN)) lines.push(`    ${key.uid} (version ${key.version})`);
    if (k.count > KEYS_SHOWN) lines.push(`    … and ${k.count - KEYS_SHOWN} more (see --json)`);
  };
  list('step rows added', d.stepRows.added);
  list('step rows removed', d.stepRows.removed);
  list('step rows changed', d.stepRows.changed);
  list(`${rows} added`, d.workflowRows.added);
  list(`${rows} removed`, d.workflowRows.removed);
  list(`${rows} changed`, d.workflowRows.changed);
  list('workflow rows whose new spec would differ', d.results);
  return lines;
}
