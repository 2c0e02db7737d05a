import type { ChalkInstance } from 'chalk';
import type { Report } from '../migrate/report.js';

/** Formats the human report: summary, blockers, orphans, conflicts, invalid rows, warnings. No logic. */
export function renderHuman(report: Report, options: { verbose: boolean; chalk: ChalkInstance }): string {
  const c = options.chalk;
  const lines = header(report, c);
  if (report.rollback || report.cleanup)
    return lines.concat(renderUndo(report, c), '', verdict(report, c)).join('\n') + '\n';
  lines.push(...summary(report));
  lines.push(...orphans(report, c), ...conflicts(report, c), ...invalid(report, c), ...warnings(report, c));
  lines.push(...drop(report), ...runs(report, c));
  if (options.verbose) lines.push(...workflowChanges(report, c));
  lines.push('', verdict(report, c));
  return lines.join('\n') + '\n';
}

function header(report: Report, c: ChalkInstance): string[] {
  const title = {
    'dry-run': 'Dry run (nothing written)',
    apply: 'Apply',
    status: 'Status (nothing written)',
    rollback: report.dryRun ? 'Rollback, dry run (nothing written)' : 'Rollback',
    cleanup: report.dryRun ? 'Cleanup, dry run (nothing written)' : 'Cleanup',
  }[report.mode];
  const { dialect, url, source } = report.database;
  const from = source && source !== '--db' ? ` (from ${source})` : '';
  const lines = [c.bold(`${title} — ${dialect} ${url}${from}`)];
  for (const note of report.notes) lines.push(c.dim(`  ${note}`));
  lines.push('');
  return lines;
}

function summary(report: Report): string[] {
  const s = report.summary;
  const verb = report.mode === 'apply' && report.outcome === 'done' ? 'folded' : 'to fold';
  const lines = [
    `  step rows        ${s.stepRows}`,
    `  ${verb.padEnd(16)} ${s.folded}`,
    `  unchanged        ${s.unchanged}  (already in their workflow, identical)`,
    `  workflow rows    ${s.workflowsUpdated}  ${report.outcome === 'done' ? 'updated' : 'to update'}`,
    `  orphans          ${s.orphans}`,
    `  conflicts        ${s.conflicts}`,
    `  invalid rows     ${s.invalid}`,
  ];
  if (s.warnings > 0) lines.push(`  warnings         ${s.warnings}`);
  if (report.status) {
    lines.push(`  pending rows     ${report.status.pending}`);
    lines.push(`  mismatched items ${report.status.mismatched}`);
  }
  return lines;
}

function orphans(report: Report, c: ChalkInstance): string[] {
  if (report.orphans.length === 0) return [];
  const rows = report.orphans.map((o) => [o.uid, o.version, o.name ?? '', o.reason, o.workflowId ?? 'NULL']);
  return [
    '',
    c.yellow.bold(`Orphans (${report.orphans.length}) — rows with no workflow to fold into:`),
    ...table(['uid', 'version', 'name', 'reason', 'workflow_id'], rows),
  ];
}

function conflicts(report: Report, c: ChalkInstance): string[] {
  if (report.conflicts.length === 0) return [];
  return [
    '',
    c.red.bold(`Conflicts (${report.conflicts.length}):`),
    ...report.conflicts.map(
      (x) =>
        `  workflow ${x.workflowUid} (version ${x.workflowVersion}), item "${x.name}": ${x.reason} [${x.resolution}]`,
    ),
  ];
}

function invalid(report: Report, c: ChalkInstance): string[] {
  if (report.invalid.length === 0) return [];
  return [
    '',
    c.red.bold(`Invalid rows (${report.invalid.length}):`),
    ...report.invalid.map((x) => `  ${x.uid} (version ${x.version}) "${x.name ?? ''}": ${x.reason}`),
  ];
}

function warnings(report: Report, c: ChalkInstance): string[] {
  if (report.warnings.length === 0) return [];
  const title = `Warnings (${report.warnings.length}) — copies in spec that disagree with their column (the column wins):`;
  return [
    '',
    c.yellow(title),
    ...report.warnings.map(
      (w) =>
        `  ${w.uid} (version ${w.version}): spec.${w.field} = ${w.specValue}, column = ${JSON.stringify(w.columnValue)}`,
    ),
  ];
}

function drop(report: Report): string[] {
  if (!report.drop) return [];
  const lines = ['', `Dropped tables are kept as ${report.drop.keptAs.join(', ')} until cleanup (for --rollback).`];
  if (report.drop.orphansFile) lines.push(`Rows left by the fold were written to ${report.drop.orphansFile}.`);
  return lines;
}

function runs(report: Report, c: ChalkInstance): string[] {
  if (!report.runs || report.runs.length === 0) return [];
  const rows = report.runs.map((r) => [
    r.id,
    r.mode,
    r.status,
    r.startedAt,
    String(r.workflowsUpdated),
    r.tableDropped ? 'yes' : 'no',
    r.canRollBack ? 'yes' : 'no',
  ]);
  return [
    '',
    c.bold('Runs:'),
    ...table(['id', 'mode', 'status', 'started', 'workflows', 'dropped', 'can roll back'], rows),
  ];
}

function workflowChanges(report: Report, c: ChalkInstance): string[] {
  if (report.workflows.length === 0) return [];
  const lines = ['', c.bold('Workflow changes:')];
  for (const w of report.workflows) {
    lines.push(`  ${w.name} (${w.uid}, version ${w.version})`);
    for (const name of w.added) lines.push(c.green(`    + ${name}`));
    for (const name of w.replaced) lines.push(c.cyan(`    ~ ${name}`));
  }
  return lines;
}

function renderUndo(report: Report, c: ChalkInstance): string[] {
  if (report.cleanup) {
    return report.cleanup.dropped.length > 0 ? [`  removed ${report.cleanup.dropped.join(', ')}`] : [];
  }
  const r = report.rollback;
  if (!r) return [];
  const lines = [`  run              ${r.run ?? '-'}`, `  workflows        ${r.workflowsRestored} restored`];
  if (r.forced > 0) lines.push(`  forced           ${r.forced} (edited since the run; their other edits kept)`);
  if (r.tablesRestored.length > 0) lines.push(`  tables           ${r.tablesRestored.join(', ')} back`);
  if (r.drifted.length > 0) {
    lines.push('', c.yellow.bold(`Changed since the run (${r.drifted.length}):`));
    for (const d of r.drifted) lines.push(`  workflow ${d.uid} (version ${d.version}): ${d.reason}`);
  }
  return lines;
}

function verdict(report: Report, c: ChalkInstance): string {
  const message = report.rollback?.message;
  switch (report.outcome) {
    case 'nothing-to-do':
      return c.green(
        message
          ? `Nothing to do: ${message}.`
          : report.cleanup
            ? 'Nothing to clean up.'
            : `Nothing to do: ${report.notes.at(-1) ?? ''}`,
      );
    case 'blocked':
      return c.red.bold(`Blocked, nothing written: ${report.blockers.join('; ')}.`);
    case 'planned':
      if (message) return c.green(`The rollback would go through: ${message}.`);
      if (report.cleanup) return c.green("Cleanup would remove the tool's tables. Run without --dry-run to do it.");
      return c.green(`The plan would go through. Run without --dry-run to apply it.`);
    case 'done':
      if (message) return c.green.bold(`Done: ${message}.`);
      if (report.cleanup)
        return c.green.bold("Done: the tool's tables are removed; earlier runs can no longer be rolled back.");
      return c.green.bold(doneLine(report));
    case 'up-to-date':
      return c.green('Up to date: nothing left to migrate and every folded item matches its row.');
    case 'work-left':
      return c.red.bold(`Work left: ${workLeft(report)}.`);
  }
}

function doneLine(report: Report): string {
  const { folded, workflowsUpdated, tableDropped } = report.summary;
  const dropped = tableDropped ? ', tables dropped' : '';
  return `Done: ${folded} row(s) folded into ${workflowsUpdated} workflow row(s)${dropped}, run ${report.runId}.`;
}

function workLeft(report: Report): string {
  if (report.blockers.length > 0) return report.blockers.join('; ');
  return `${report.status?.pending ?? 0} row(s) not yet folded`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const fmt = (cells: string[]) =>
    '  ' +
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}
