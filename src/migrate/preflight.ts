import type { ColumnInfo, DialectAdapter, TableRef } from '../dialect/adapter.js';
import { qualified } from '../dialect/adapter.js';
import { ToolError } from '../errors.js';
import { Bookkeeping, type RunRecord } from './bookkeeping.js';
import { droppingRun } from './run-history.js';
import { STEP_REQUIRED, Store, WORKFLOW_REQUIRED } from './store.js';

/** The table names a run works on, from the flags (already validated as identifiers). */
export interface TableNames {
  schema?: string;
  step: string;
  workflow: string;
}

function missingColumns(columns: ColumnInfo[], required: readonly string[]): string[] {
  const have = new Set(columns.map((c) => c.name));
  return required.filter((c) => !have.has(c));
}

export interface Preflight {
  store: Store;
  book: Bookkeeping;
  notes: string[];
  /** The run that dropped the step table, when it is gone; the store then reads its kept copy. */
  droppedBy: RunRecord | null;
}

/**
 * Checks by introspection everything that would stop the run and reports it all at once:
 * tables, columns, the JSON column's type, and (for a write) permissions. A step table that an
 * applied run dropped is read from the copy that run kept.
 */
export async function preflight(
  adapter: DialectAdapter,
  names: TableNames,
  options: { write: boolean },
): Promise<Preflight> {
  const schema = names.schema ?? (await adapter.defaultSchema());
  const book = new Bookkeeping(adapter, schema);
  let step: TableRef = { schema, table: names.step };
  let labels: TableRef = { schema, table: `${names.step}_labels` };
  const workflow: TableRef = { schema, table: names.workflow };
  const problems: string[] = [];
  let stepColumns = await adapter.columns(step);
  let droppedBy: RunRecord | null = null;
  if (stepColumns === null) {
    droppedBy = droppingRun(await book.listRuns(), names.step);
    if (droppedBy?.keptStepTable) {
      step = { schema, table: droppedBy.keptStepTable };
      labels = { schema, table: droppedBy.keptLabelsTable ?? '' };
      stepColumns = await adapter.columns(step);
    }
  }
  const workflowColumns = await adapter.columns(workflow);
  // A step table that is simply not there (no run of this tool dropped it) next to a workflow table.
  const plainlyAbsent = stepColumns === null && droppedBy === null && workflowColumns !== null;
  for (const [ref, columns, required, flag] of [
    [step, stepColumns, STEP_REQUIRED, '--step-table'],
    [workflow, workflowColumns, WORKFLOW_REQUIRED, '--workflow-table'],
  ] as const) {
    if (columns === null) {
      problems.push(ref === step && plainlyAbsent ? absentProblem(step) : notFound(ref, flag, adapter.hasSchemas));
      continue;
    }
    const missing = missingColumns(columns, required);
    if (missing.length > 0) problems.push(`table ${qualified(ref)} has no column ${missing.join(', ')}`);
    const spec = columns.find((c) => c.name === 'spec');
    if (spec && !adapter.isJsonCapable(spec.type)) {
      problems.push(`column ${qualified(ref)}.spec has type ${spec.type}, which cannot hold JSON text`);
    }
  }
  if (problems.length === 0 && options.write) problems.push(...(await adapter.writeProblems([workflow])));
  if (problems.length > 0) throw new ToolError(`preflight failed: ${problems.join('; ')}`);
  const specType = (workflowColumns as ColumnInfo[]).find((c) => c.name === 'spec')?.type ?? 'json';
  const labelColumns = labels.table === '' ? null : await adapter.columns(labels);
  const store = new Store(
    adapter,
    step,
    workflow,
    stepColumns as ColumnInfo[],
    workflowColumns as ColumnInfo[],
    specType,
    labelColumns ? { ref: labels, columns: labelColumns } : null,
  );
  const notes = await adapter.notes();
  if (droppedBy)
    notes.push(`${names.step} was dropped by run ${droppedBy.id}; reading the copy it kept (${step.table})`);
  return { store, book, notes, droppedBy };
}

function notFound(ref: TableRef, flag: string, hasSchemas: boolean): string {
  return (
    `table ${qualified(ref)} not found (is this a genai-factory database, or one already migrated and ` +
    `cleaned up? see ${flag}${hasSchemas ? ', --schema' : ''})`
  );
}

function absentProblem(step: TableRef): string {
  return (
    `table ${qualified(step)} not found, though the workflow table is there (a fresh install, or a database ` +
    'already migrated and cleaned up? --if-exists makes that "nothing to migrate", exit 0; see --step-table)'
  );
}

/**
 * Whether the step table is simply absent while the workflow table is there: no table of that
 * name, and no run of this tool dropped it (a dropped table is read from the copy its run kept).
 */
export async function stepTableAbsent(adapter: DialectAdapter, names: TableNames): Promise<boolean> {
  const schema = names.schema ?? (await adapter.defaultSchema());
  if ((await adapter.columns({ schema, table: names.step })) !== null) return false;
  if ((await adapter.columns({ schema, table: names.workflow })) === null) return false;
  return droppingRun(await new Bookkeeping(adapter, schema).listRuns(), names.step) === null;
}
