import type { Plan } from '../core/plan.js';
import type { ForeignKeyRef } from '../dialect/adapter.js';
import { TOOL_PREFIX } from './bookkeeping.js';

/** A step row the fold does not place, with why. */
export interface LeftRowKey {
  uid: string;
  version: string;
  reason: string;
}

/** The rows a plan leaves in the step table: orphans, skipped invalid rows, kept conflicts (each once). */
export function leftRows(plan: Plan): LeftRowKey[] {
  const kept = new Map<string, LeftRowKey>();
  for (const c of plan.conflicts) {
    if (c.resolution !== 'kept') continue;
    kept.set(JSON.stringify([c.stepUid, c.stepVersion]), {
      uid: c.stepUid,
      version: c.stepVersion,
      reason: `conflict kept: ${c.reason}`,
    });
  }
  return [
    ...plan.orphans.map((o) => ({ uid: o.uid, version: o.version, reason: `orphan: ${o.reason}` })),
    ...plan.invalid.map((i) => ({ uid: i.uid, version: i.version, reason: `invalid: ${i.reason}` })),
    ...kept.values(),
  ];
}

/**
 * Why dropping the step table would lose data or break the database: rows the fold leaves that
 * no `--orphans-out` file keeps, and foreign keys of other tables (not the step table's own
 * labels, not the tool's kept copies) that point at it.
 */
export function dropBlockersOf(input: {
  plan: Plan;
  orphansOut: string | undefined;
  stepTable: string;
  ownTables: string[];
  foreignKeys: ForeignKeyRef[];
}): string[] {
  const blockers: string[] = [];
  const left = leftRows(input.plan).length;
  if (left > 0 && !input.orphansOut) {
    blockers.push(
      `--drop-table would remove ${left} row(s) that are not folded (orphans, skipped invalid rows, kept conflicts): ` +
        'pass --orphans-out FILE to keep them in a file',
    );
  }
  const own = new Set(input.ownTables.map((t) => t.toLowerCase()));
  for (const fk of input.foreignKeys) {
    const table = fk.table.replace(/^.*\./, '').replace(/"/g, '').toLowerCase();
    if (own.has(table) || table.startsWith(TOOL_PREFIX)) continue;
    blockers.push(`table ${fk.table} references ${input.stepTable} (${fk.constraint}); --drop-table refused`);
  }
  return blockers;
}
