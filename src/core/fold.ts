/**
 * The fold of one workflow group: where each of its step rows' items goes in each version row of
 * the workflow, the conflicts and invalid rows met, and the new spec texts.
 */
import { parseJson } from './json/parse.js';
import { canonicalJson } from './json/write.js';
import { sortByCreatedName } from './order.js';
import { StepReader, type StepItem } from './step-item.js';
import { WorkflowSpecReader, spliceSpec, TARGET_KEY, type ItemSpan, type WorkflowSpec } from './workflow-spec.js';
import type {
  Conflict,
  GroupPlan,
  InvalidRow,
  OnConflict,
  RowOutcome,
  StepRow,
  WorkflowRow,
  WorkflowUpdate,
} from './types.js';

/** What the caller of a plan needs beyond outcomes and counts: the new spec texts, and items in order. */
export interface PlanDetail {
  texts: boolean;
  order: boolean;
}

/**
 * Plans workflow groups, one at a time. It owns the readers of the specs, whose scanners every
 * group reuses: a run makes one planner and plans all its groups with it.
 */
export class GroupPlanner {
  private readonly stepReader = new StepReader();
  private readonly workflowReader = new WorkflowSpecReader();

  constructor(
    private readonly onConflict: OnConflict,
    private readonly detail: PlanDetail = { texts: true, order: true },
  ) {}

  /**
   * Plans one workflow uid: every version row of it and every step row whose `workflow_id` is that
   * uid. Pure: decides each row's outcome and the new spec text of each workflow row that changes.
   */
  plan(workflows: WorkflowRow[], steps: StepRow[]): GroupPlan {
    if (workflows.length === 0) throw new Error('a group plan needs the workflow rows of the group');
    const plan: GroupPlan = { outcomes: [], updates: [], conflicts: [], invalid: [], warnings: [] };
    const readings = workflows.map((w) => this.workflowReader.read(w));
    const badWorkflow = readings.find((r): r is UnreadableWorkflow => 'reason' in r);
    const valid = this.readSteps(steps, plan);
    let placeable = placeableRows(valid, steps, badWorkflow, plan);
    if (badWorkflow) return plan;
    if (this.detail.order) placeable = sortByCreatedName(placeable, (p) => p.row);
    for (const spec of readings as WorkflowSpec[]) this.placeIn(spec, placeable, plan);
    for (const p of placeable) plan.outcomes.push({ row: p.row, outcome: outcomeOf(p) });
    return plan;
  }

  /** Reads the step rows: the valid ones are returned, to be placed; the others go to the plan as invalid. */
  private readSteps(steps: StepRow[], plan: GroupPlan): Placing[] {
    const valid: Placing[] = [];
    for (const row of steps) {
      const reading = this.stepReader.read(row, this.detail.texts);
      if (reading.warnings.length > 0) plan.warnings.push(...reading.warnings);
      if ('reason' in reading) invalidate(plan, row, reading.reason);
      else valid.push({ row, item: reading.item, placed: false, blocked: false, conflicted: false });
    }
    return valid;
  }

  /**
   * Places the items in one version row's spec: appended when the spec has no item of that name,
   * nothing when it has an identical one, else a conflict. Adds the row's update if it changes.
   */
  private placeIn(spec: WorkflowSpec, placeable: Placing[], plan: GroupPlan): void {
    const edits: SpecEdits = { added: [], replaced: [] };
    for (const p of placeable) {
      const existing = spec.byName.get(p.item.name);
      if (existing === undefined) {
        edits.added.push(p.item);
        p.placed = true;
      } else if (!isSameItem(spec, existing, p.item)) {
        this.resolveConflict(spec, existing, p, edits, plan);
      }
    }
    if (edits.added.length > 0 || edits.replaced.length > 0) plan.updates.push(this.update(spec, edits));
  }

  /** An item whose name the spec already holds with other content: the conflict, resolved as `--on-conflict` says. */
  private resolveConflict(
    spec: WorkflowSpec,
    existing: ItemSpan[],
    p: Placing,
    edits: SpecEdits,
    plan: GroupPlan,
  ): void {
    const { row, item } = p;
    const [span] = existing as [ItemSpan];
    const reason =
      existing.length > 1
        ? `the workflow's ${TARGET_KEY} already holds ${existing.length} items of this name`
        : `an item of this name with other content is already in the workflow's ${TARGET_KEY}`;
    const onConflict = this.onConflict;
    const resolution = onConflict === 'fail' ? 'blocking' : onConflict === 'keep' ? 'kept' : 'replaced';
    const canReplace = resolution === 'replaced' && existing.length === 1;
    plan.conflicts.push({
      workflowUid: spec.row.uid,
      workflowVersion: spec.row.version,
      name: item.name,
      stepUid: row.uid,
      stepVersion: row.version,
      reason,
      resolution: resolution === 'replaced' && !canReplace ? 'blocking' : resolution,
    } satisfies Conflict);
    p.conflicted = true;
    if (resolution === 'blocking' || (resolution === 'replaced' && !canReplace)) p.blocked = true;
    else if (canReplace) {
      edits.replaced.push({ name: item.name, span, text: item.text });
      p.placed = true;
    }
  }

  /** The write for a version row that changes (its new spec only in a pass that writes). */
  private update(spec: WorkflowSpec, edits: SpecEdits): WorkflowUpdate {
    const { added, replaced } = edits;
    return {
      uid: spec.row.uid,
      version: spec.row.version,
      name: spec.row.name,
      added: added.map((a) => a.name),
      replaced: replaced.map((r) => r.name),
      oldSpec: spec.row.spec,
      newSpec: this.detail.texts
        ? spliceSpec(
            spec,
            added.map((a) => a.text),
            replaced,
          )
        : '',
    };
  }
}

/** A workflow row of the group whose spec cannot be read: every step row of the group is then invalid. */
type UnreadableWorkflow = { row: WorkflowRow; reason: string };

/** The edits of one version row's spec: items appended, and items put in place of existing ones. */
interface SpecEdits {
  added: StepItem[];
  replaced: { name: string; span: ItemSpan; text: string }[];
}

function invalidate(plan: GroupPlan, row: StepRow, reason: string): void {
  plan.invalid.push({ uid: row.uid, version: row.version, name: row.name, reason } satisfies InvalidRow);
  plan.outcomes.push({ row, outcome: 'invalid' });
}

/**
 * The valid rows that can be placed: none when a workflow row cannot be read, and none whose name
 * another step row of the group has; those go to the plan as invalid.
 */
function placeableRows(
  valid: Placing[],
  steps: StepRow[],
  badWorkflow: UnreadableWorkflow | undefined,
  plan: GroupPlan,
): Placing[] {
  // Every row with a name counts, valid or not: a twin of an invalid row is a duplicate too.
  const twins = namesTwice(steps);
  const placeable: Placing[] = [];
  for (const v of valid) {
    if (badWorkflow) {
      const w = badWorkflow.row;
      invalidate(plan, v.row, `workflow ${w.uid} (version ${JSON.stringify(w.version)}): ${badWorkflow.reason}`);
    } else if (twins?.has(v.item.name)) {
      invalidate(plan, v.row, `another step row of workflow ${v.row.workflowId} has the same name`);
    } else {
      placeable.push(v);
    }
  }
  return placeable;
}

/** Whether the spec's one item of this name is identical: the same text (what a re-run finds) or, failing that, the same value. */
function isSameItem(spec: WorkflowSpec, existing: ItemSpan[], item: StepItem): boolean {
  if (existing.length !== 1) return false;
  const [span] = existing as [ItemSpan];
  const text = spec.row.spec ?? '';
  return sameSpanText(text, span, item) || canonicalOfSpan(text, span) === item.canonical();
}

/**
 * What became of a placeable row across the group's version rows: placed in some, blocked by a
 * conflict, or met a conflict that was resolved; none of them means unchanged (identical items everywhere).
 */
function outcomeOf(p: Placing): RowOutcome {
  if (p.blocked) return 'conflict';
  if (p.placed) return 'folded';
  return p.conflicted ? 'conflict' : 'unchanged';
}

/** Whether the spec's text at `span` is the item's text. */
function sameSpanText(spec: string, span: ItemSpan, item: StepItem): boolean {
  if (item.isTextAt) return item.isTextAt(spec, span.start, span.end);
  return span.end - span.start === item.text.length && spec.startsWith(item.text, span.start);
}

/** The canonical form of the item at `span` (parsed for it alone: the values differ in text). */
function canonicalOfSpan(spec: string, span: ItemSpan): string {
  return canonicalJson(parseJson(spec.slice(span.start, span.end)));
}

/** A valid step row of a group, and what has become of it in the group's version rows. */
interface Placing {
  row: StepRow;
  item: StepItem;
  placed: boolean;
  blocked: boolean;
  conflicted: boolean;
}

/** The names more than one of these rows has; undefined when there is none (the common case, checked without a map for a small group). */
function namesTwice(rows: StepRow[]): Set<string> | undefined {
  let twins: Set<string> | undefined;
  if (rows.length <= 32) {
    for (let i = 1; i < rows.length; i++) {
      const name = (rows[i] as StepRow).name;
      if (!name) continue;
      for (let j = 0; j < i; j++) if ((rows[j] as StepRow).name === name) (twins ??= new Set()).add(name);
    }
    return twins;
  }
  const seen = new Set<string>();
  for (const { name } of rows) {
    if (!name) continue;
    if (seen.has(name)) (twins ??= new Set()).add(name);
    else seen.add(name);
  }
  return twins;
}
