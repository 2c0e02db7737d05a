/** Rows as the adapters read them and the plan the core computes from them: plain data. */

/**
 * A `step_configuration` row; text columns as stored, `created` as the database's text of it.
 * Optional fields are undefined when the table has no such column.
 */
export interface StepRow {
  uid: string;
  version: string;
  name: string | null;
  workflowId: string | null;
  created: string | null;
  spec: string | null;
  /** Why `spec` could not be read as text at all (bytes that are not UTF-8). */
  specError?: string;
  agentId?: string | null;
  mcpServerId?: string | null;
  projectId?: string | null;
  ownerId?: string | null;
  description?: string | null;
}

/** A `workflow` row (one version of it); `spec` is the stored JSON text or null. */
export interface WorkflowRow {
  uid: string;
  version: string;
  name: string;
  spec: string | null;
  /** Why `spec` could not be read as text at all (bytes that are not UTF-8). */
  specError?: string;
}

export type OnConflict = 'fail' | 'keep' | 'replace';

export interface PlanOptions {
  onConflict: OnConflict;
  skipInvalid: boolean;
  strict: boolean;
  /**
   * Whether the plan lists each workflow row it changes (the report's `workflows`, `--verbose`);
   * without it only their number is kept, and memory does not grow with the workflows.
   */
  listWorkflows?: boolean;
}

export type OrphanReason = 'no_workflow_id' | 'workflow_not_found';

export interface Orphan {
  uid: string;
  version: string;
  name: string | null;
  reason: OrphanReason;
  workflowId: string | null;
  agentId: string | null;
  mcpServerId: string | null;
}

export interface Conflict {
  workflowUid: string;
  workflowVersion: string;
  name: string;
  stepUid: string;
  stepVersion: string;
  reason: string;
  /** What `--on-conflict` did with it: nothing yet (fail), kept the existing item, or replaced it. */
  resolution: 'blocking' | 'kept' | 'replaced';
}

export interface InvalidRow {
  uid: string;
  version: string;
  name: string | null;
  reason: string;
}

/** A copy of a column inside the row's `spec` that disagrees with the column. */
export interface SpecWarning {
  uid: string;
  version: string;
  name: string | null;
  field: string;
  columnValue: string | null;
  specValue: string;
}

/** One workflow row whose spec the run writes. */
export interface WorkflowChange {
  uid: string;
  version: string;
  name: string;
  added: string[];
  replaced: string[];
}

/** The write for one workflow row: its spec before and after. */
export interface WorkflowUpdate extends WorkflowChange {
  oldSpec: string | null;
  /** The spec to write (empty in a pass that writes nothing). */
  newSpec: string;
}

/** What happened to one step row. `conflict` means it was not placed anywhere. */
export type RowOutcome = 'folded' | 'unchanged' | 'conflict' | 'invalid';

/** The plan for one workflow uid (all its version rows) and the step rows pointing at it. */
export interface GroupPlan {
  outcomes: { row: StepRow; outcome: RowOutcome }[];
  updates: WorkflowUpdate[];
  conflicts: Conflict[];
  invalid: InvalidRow[];
  warnings: SpecWarning[];
}

export interface Summary {
  stepRows: number;
  folded: number;
  unchanged: number;
  workflowsUpdated: number;
  orphans: number;
  conflicts: number;
  invalid: number;
  warnings: number;
  tableDropped: boolean;
}
