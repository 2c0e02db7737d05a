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
    const { onConflict, detail } = this;
    if (workflows.length === 0) throw new Error('a group plan needs the workflow rows of the group');
    const plan: GroupPlan = { outcomes: [], updates: [], conflicts: [], invalid: [], warnings: [] };
    const invalidate = (row: StepRow, reason: string) => {
      plan.invalid.push({ uid: row.uid, version: row.version, name: row.name, reason } satisfies InvalidRow);
      plan.outcomes.push({ row, outcome: 'invalid' });
    };

    const readings = workflows.map((w) => this.workflowReader.read(w));
    const badWorkflow = readings.find((r): r is { row: WorkflowRow; reason: string } => 'reason' in r);

    // What becomes of each valid row: placed in some version row, blocked by a conflict, or met a
    // conflict that was resolved; none of them means unchanged (identical items everywhere).
    const valid: Placing[] = [];
    for (const row of steps) {
      const reading = this.stepReader.read(row, detail.texts);
      if (reading.warnings.length > 0) plan.warnings.push(...reading.warnings);
      if ('reason' in reading) invalidate(row, reading.reason);
      else valid.push({ row, item: reading.item, placed: false, blocked: false, conflicted: false });
    }

    // Every row with a name counts, valid or not: a twin of an invalid row is a duplicate too.
    const twins = namesTwice(steps);
    let placeable: Placing[] = [];
    for (const v of valid) {
      if (badWorkflow) {
        const w = badWorkflow.row;
        invalidate(v.row, `workflow ${w.uid} (version ${JSON.stringify(w.version)}): ${badWorkflow.reason}`);
      } else if (twins?.has(v.item.name)) {
        invalidate(v.row, `another step row of workflow ${v.row.workflowId} has the same name`);
      } else {
        placeable.push(v);
      }
    }
    if (badWorkflow) return plan;
    if (detail.order) placeable = sortByCreatedName(placeable, (p) => p.row);

    for (const spec of readings as WorkflowSpec[]) {
      const added: { name: string; text: string }[] = [];
      const replaced: { name: string; span: ItemSpan; text: string }[] = [];
      for (const p of placeable) {
        const { row, item } = p;
        const existing = spec.byName.get(item.name);
        if (existing === undefined) {
          added.push(item);
          p.placed = true;
          continue;
        }
        const [span] = existing as [ItemSpan];
        // Identical: the same text (what a re-run finds) or, failing that, the same value.
        if (
          existing.length === 1 &&
          (sameSpanText(spec.row.spec ?? '', span, item) ||
            canonicalOfSpan(spec.row.spec ?? '', span) === item.canonical())
        )
          continue;
        const reason =
          existing.length > 1
            ? `the workflow's ${TARGET_KEY} already holds ${existing.length} items of this name`
            : `an item of this name with other content is already in the workflow's ${TARGET_KEY}`;
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
          replaced.push({ name: item.name, span, text: item.text });
          p.placed = true;
        }
      }
      if (added.length > 0 || replaced.length > 0) {
        plan.updates.push({
          uid: spec.row.uid,
          version: spec.row.version,
          name: spec.row.name,
          added: added.map((a) => a.name),
          replaced: replaced.map((r) => r.name),
          oldSpec: spec.row.spec,
          newSpec: detail.texts
            ? spliceSpec(
                spec,
                added.map((a) => a.text),
                replaced,
              )
            : '',
        } satisfies WorkflowUpdate);
      }
    }

    for (const p of placeable) {
      const outcome: RowOutcome = p.blocked
        ? 'conflict'
        : p.placed
          ? 'folded'
          : p.conflicted
            ? 'conflict'
            : 'unchanged';
      plan.outcomes.push({ row: p.row, outcome });
    }
    return plan;
  }
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
