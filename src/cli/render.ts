import type { ChalkInstance } from 'chalk';
import type { Report } from '../migrate/report.js';
import { nextStep, planDiffLines, planFileLines } from './render-plan.js';

/** Formats the human report: summary, blockers, orphans, conflicts, invalid rows, warnings. No logic. */
/** Without `verdict`, the report ends before its last line (the plan before a question; a refusal said on stderr). */
export function renderHuman(
  report: Report,
  options: { verbose: boolean; chalk: ChalkInstance; verdict?: boolean },
): string {
  return [...humanChunks(report, options)].join('');
}

/** Text gathered before a chunk of the human report is handed on. */
const CHUNK = 1 << 16;

/**
 * The human report in chunks, each line ending in a newline: with `--verbose` it lists a row per
 * workflow, which for a large run is never held whole in memory.
 */
export function* humanChunks(
  report: Report,
  options: { verbose: boolean; chalk: ChalkInstance; verdict?: boolean },
): Generator<string> {
  let out = '';
  for (const line of humanLines(report, options)) {
    out += `${line}\n`;
    if (out.length >= CHUNK) {
      yield out;
      out = '';
    }
  }
  yield out;
}

function* humanLines(
  report: Report,
  options: { verbose: boolean; chalk: ChalkInstance; verdict?: boolean },
): Generator<string> {
  const c = options.chalk;
  const end = options.verdict === false ? [''] : ['', verdict(report, c)];
  yield* header(report, c);
  const plan = () => [...planDiffLines(report, c), ...planFileLines(report)];
  if (report.rollback) yield* [...rollback(report, options), ...plan()];
  else if (report.cleanup) yield* cleanup(report);
  else if (report.mode === 'runs') yield* runs(report, c).slice(1);
  else {
    yield* summary(report);
    yield* orphans(report, c);
    yield* conflicts(report, c);
    yield* invalid(report, c);
    yield* warnings(report, c);
    yield* drop(report);
    yield* runs(report, c);
    if (options.verbose) yield* workflowChanges(report, c);
    yield* plan();
  }
  yield* end;
}

function header(report: Report, c: ChalkInstance): string[] {
  const title = {
    'dry-run': 'Dry run (nothing written)',
    apply: 'Apply',
    status: 'Status (nothing written)',
    rollback: report.dryRun ? 'Rollback, dry run (nothing written)' : 'Rollback',
    cleanup: report.dryRun ? 'Cleanup, dry run (nothing written)' : 'Cleanup',
    runs: 'Runs (nothing written)',
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
    // Older reports have no `left`; rows a policy leaves are listed above (orphans, invalid, conflicts).
    if (report.status.left > 0)
      lines.push(`  rows left        ${report.status.left}  (left in the table by the policy given)`);
  }
  return lines;
}

/** Orphans a terminal shows; the JSON report and the orphans file hold them all. */
const ORPHANS_SHOWN = 20;

function orphans(report: Report, c: ChalkInstance): string[] {
  if (report.orphans.length === 0) return [];
  const shown = report.orphans.slice(0, ORPHANS_SHOWN);
  const rows = shown.map((o) => [o.uid, o.version, o.name ?? '', o.reason, o.workflowId ?? 'NULL']);
  const more = report.orphans.length - shown.length;
  return [
    '',
    c.yellow.bold(`Orphans (${report.orphans.length}) — rows with no workflow to fold into:`),
    ...table(['uid', 'version', 'name', 'reason', 'workflow_id'], rows),
    ...(more > 0 ? [`  … and ${more} more: see --json or --orphans-out`] : []),
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
    r.finishedAt ?? '-',
    `${r.host} ${r.pid}`,
    String(r.workflowsUpdated),
    r.tableDropped ? 'yes' : 'no',
    r.canRollBack ? 'yes' : 'no',
    r.planFile ? r.planFile.sha256.slice(0, 12) : '-',
  ]);
  return [
    '',
    c.bold('Runs:'),
    ...table(
      ['id', 'mode', 'status', 'started', 'finished', 'host pid', 'workflows', 'dropped', 'can roll back', 'plan'],
      rows,
    ),
  ];
}

function* workflowChanges(report: Report, c: ChalkInstance): Generator<string> {
  if (report.workflows.length === 0) return;
  yield* ['', c.bold('Workflow changes:')];
  for (const w of report.workflows) {
    yield `  ${w.name} (${w.uid}, version ${w.version})`;
    for (const name of w.added) yield c.green(`    + ${name}`);
    for (const name of w.replaced) yield c.cyan(`    ~ ${name}`);
  }
}

function cleanup(report: Report): string[] {
  const dropped = report.cleanup?.dropped ?? [];
  return dropped.length > 0 ? [`  removed ${dropped.join(', ')}`] : [];
}

/** The rollback section: the run it undoes, the rows and tables that come back, and the drift. */
function* rollback(report: Report, options: { verbose: boolean; chalk: ChalkInstance }): Generator<string> {
  const c = options.chalk;
  const r = report.rollback;
  if (!r || r.runId === null) return;
  yield (
    `  run              ${r.runId}, started ${r.runStartedAt}: ${r.runWorkflowsUpdated} workflow row(s) updated` +
    `${r.runTableDropped ? ', tables dropped' : ''}`
  );
  yield* rollbackCounts(report);
  if (r.drifted.length > 0) {
    yield* ['', c.yellow.bold(`Edited since the run (${r.drifted.length}):`)];
    for (const d of r.drifted) {
      const kept = d.forceKeeps.length > 0 ? `; --force keeps their edits to ${d.forceKeeps.join(', ')}` : '';
      yield `  workflow ${d.uid} (version ${d.version}) "${d.name ?? ''}": ${d.reason}${kept}`;
    }
  }
  if (options.verbose && r.workflows && r.workflows.length > 0) {
    yield* ['', c.bold(`Workflow rows ${r.refused || report.outcome !== 'done' ? 'to restore' : 'restored'}:`)];
    for (const w of r.workflows) yield `  ${w.uid} (version ${w.version}) "${w.name}"${w.forced ? ' [forced]' : ''}`;
  }
}

function rollbackCounts(report: Report): string[] {
  const r = report.rollback!;
  const done = report.outcome === 'done' && !r.refused;
  const tables = r.tables.map((t) => `${t.table} (${t.rows} rows)`).join(', ');
  const lines: string[] = [];
  if (r.refused) {
    lines.push(
      `  workflows        ${r.workflowsToRestore} unchanged since the run; the rollback is refused, nothing is written`,
    );
  } else {
    lines.push(`  workflows        ${r.workflowsToRestore} ${done ? 'restored' : 'to restore'}`);
    if (r.forced > 0) {
      lines.push(
        `  forced           ${r.forced} (edited since the run; their other edits ${done ? 'kept' : 'would be kept'})`,
      );
    }
  }
  // On MySQL/MariaDB a rollback refused after its tables came back (in their own commit) says they are back.
  const back = done || (r.refused && r.tablesRestored.length > 0);
  if (tables !== '') lines.push(`  tables           ${tables} ${back ? 'back' : 'to bring back'}`);
  return lines;
}

/** The report's last line: what happened, or why nothing was. */
export function verdict(report: Report, c: ChalkInstance): string {
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
    case 'planned': {
      const next = nextStep(report);
      if (message) return c.green(`The rollback would go through: ${message}.${next ? ` ${next}` : ''}`);
      if (report.cleanup) return c.green("Cleanup would remove the tool's tables. Run it without --dry-run to do it.");
      if (next) return c.green(`The plan would go through. ${next}`);
      return c.green(`The plan would go through. Apply it with the apply command (or without --dry-run).`);
    }
    case 'done':
      if (message) return c.green.bold(`Done: ${message}.`);
      if (report.cleanup)
        return c.green.bold("Done: the tool's tables are removed; earlier runs can no longer be rolled back.");
      return c.green.bold(doneLine(report));
    case 'cancelled':
      return c.yellow.bold('Cancelled at the question; nothing was written.');
    case 'listed':
      return `${report.runs?.length ?? 0} run(s) recorded.`;
    case 'up-to-date': {
      const left = report.status?.left ?? 0;
      const also = left > 0 ? ` ${left} row(s) left by the policy given.` : '';
      return c.green(`Up to date: nothing left to migrate and every folded item matches its row.${also}`);
    }
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
