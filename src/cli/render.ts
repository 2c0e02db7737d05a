import type { ChalkInstance } from 'chalk';
import type { Report } from '../migrate/report.js';

/** Formats the human report: summary, blockers, orphans, conflicts, invalid rows, warnings. No logic. */
export function renderHuman(report: Report, options: { verbose: boolean; chalk: ChalkInstance }): string {
  const c = options.chalk;
  const s = report.summary;
  const lines: string[] = [];
  const title = {
    'dry-run': 'Dry run (nothing written)',
    apply: 'Apply',
    status: 'Status (nothing written)',
  }[report.mode];
  lines.push(c.bold(`${title} — ${report.database.dialect} ${report.database.url}`));
  for (const note of report.notes) lines.push(c.dim(`  ${note}`));
  lines.push('');
  const verb = report.mode === 'apply' && report.outcome === 'done' ? 'folded' : 'to fold';
  lines.push(`  step rows        ${s.stepRows}`);
  lines.push(`  ${verb.padEnd(16)} ${s.folded}`);
  lines.push(`  unchanged        ${s.unchanged}  (already in their workflow, identical)`);
  lines.push(`  workflow rows    ${s.workflowsUpdated}  ${report.outcome === 'done' ? 'updated' : 'to update'}`);
  lines.push(`  orphans          ${s.orphans}`);
  lines.push(`  conflicts        ${s.conflicts}`);
  lines.push(`  invalid rows     ${s.invalid}`);
  if (s.warnings > 0) lines.push(`  warnings         ${s.warnings}`);
  if (report.status) {
    lines.push(`  pending rows     ${report.status.pending}`);
    lines.push(`  mismatched items ${report.status.mismatched}`);
  }

  if (report.orphans.length > 0) {
    lines.push('', c.yellow.bold(`Orphans (${report.orphans.length}) — rows with no workflow to fold into:`));
    lines.push(
      ...table(
        ['uid', 'version', 'name', 'reason', 'workflow_id'],
        report.orphans.map((o) => [o.uid, o.version, o.name ?? '', o.reason, o.workflowId ?? 'NULL']),
      ),
    );
  }
  if (report.conflicts.length > 0) {
    lines.push('', c.red.bold(`Conflicts (${report.conflicts.length}):`));
    for (const x of report.conflicts) {
      lines.push(`  workflow ${x.workflowUid} (version ${x.workflowVersion}), item "${x.name}": ${x.reason} [${x.resolution}]`);
    }
  }
  if (report.invalid.length > 0) {
    lines.push('', c.red.bold(`Invalid rows (${report.invalid.length}):`));
    for (const x of report.invalid) lines.push(`  ${x.uid} (version ${x.version}) "${x.name ?? ''}": ${x.reason}`);
  }
  if (report.warnings.length > 0) {
    lines.push('', c.yellow(`Warnings (${report.warnings.length}) — copies in spec that disagree with their column (the column wins):`));
    for (const w of report.warnings) {
      lines.push(`  ${w.uid} (version ${w.version}): spec.${w.field} = ${w.specValue}, column = ${JSON.stringify(w.columnValue)}`);
    }
  }
  if (options.verbose && report.workflows.length > 0) {
    lines.push('', c.bold('Workflow changes:'));
    for (const w of report.workflows) {
      lines.push(`  ${w.name} (${w.uid}, version ${w.version})`);
      for (const name of w.added) lines.push(c.green(`    + ${name}`));
      for (const name of w.replaced) lines.push(c.cyan(`    ~ ${name}`));
    }
  }
  lines.push('', verdict(report, c));
  return lines.join('\n') + '\n';
}

function verdict(report: Report, c: ChalkInstance): string {
  switch (report.outcome) {
    case 'blocked':
      return c.red.bold(`Blocked, nothing written: ${report.blockers.join('; ')}.`);
    case 'planned':
      return c.green(`The plan would go through. Run without --dry-run to apply it.`);
    case 'done':
      return c.green.bold(`Done: ${report.summary.folded} row(s) folded into ${report.summary.workflowsUpdated} workflow row(s), run ${report.runId}.`);
    case 'up-to-date':
      return c.green('Up to date: nothing left to migrate and every folded item matches its row.');
    case 'work-left':
      return c.red.bold(
        `Work left: ${report.blockers.length > 0 ? report.blockers.join('; ') : `${report.status?.pending ?? 0} row(s) not yet folded`}.`,
      );
  }
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const fmt = (cells: string[]) => '  ' + cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}
