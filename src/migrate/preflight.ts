import type { ColumnInfo, DialectAdapter, TableRef } from '../dialect/adapter.js';
import { qualified } from '../dialect/adapter.js';
import { ToolError } from '../errors.js';
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

/**
 * Checks by introspection everything that would stop the run and reports it all at once:
 * tables, columns, the JSON column's type, and (for a write) permissions. Returns the store.
 */
export async function preflight(
  adapter: DialectAdapter,
  names: TableNames,
  options: { write: boolean },
): Promise<{ store: Store; notes: string[] }> {
  const schema = names.schema ?? (await adapter.defaultSchema());
  const step: TableRef = { schema, table: names.step };
  const workflow: TableRef = { schema, table: names.workflow };
  const problems: string[] = [];
  const stepColumns = await adapter.columns(step);
  const workflowColumns = await adapter.columns(workflow);
  for (const [ref, columns, required, flag] of [
    [step, stepColumns, STEP_REQUIRED, '--step-table'],
    [workflow, workflowColumns, WORKFLOW_REQUIRED, '--workflow-table'],
  ] as const) {
    if (columns === null) {
      problems.push(`table ${qualified(ref)} not found (is this a genai-factory database? see ${flag}${adapter.dialect === 'sqlite' ? '' : ', --schema'})`);
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
  const store = new Store(adapter, step, workflow, stepColumns as ColumnInfo[], workflowColumns as ColumnInfo[], specType);
  return { store, notes: await adapter.notes() };
}
