import {
  canonicalJson,
  getMember,
  pyJsonDumpsFrom,
  pyJsonString,
  isPyFormSpan,
  quickMembers,
  type QuickMember,
  sourceOf,
  tryParseJson,
  type JsonArray,
  type JsonNode,
  type JsonObject,
} from './json.js';
import { sortByCreatedName } from './order.js';
import type {
  Conflict,
  GroupPlan,
  InvalidRow,
  OnConflict,
  RowOutcome,
  SpecWarning,
  StepRow,
  WorkflowRow,
  WorkflowUpdate,
} from './types.js';

/** The key of `workflow.spec` that receives the items. */
export const TARGET_KEY = 'step_configurations';

/** The item a step row becomes: its JSON text, and a canonical form for comparison (made on demand). */
export interface StepItem {
  name: string;
  text: string;
  canonical(): string;
}

type StepReading = { item: StepItem; warnings: SpecWarning[] } | { reason: string; warnings: SpecWarning[] };

/** Column copies that the controller's update path leaves in a step row's spec. */
const COPIED_COLUMNS: [string, keyof StepRow][] = [
  ['uid', 'uid'],
  ['name', 'name'],
  ['version', 'version'],
  ['workflow_id', 'workflowId'],
  ['project_id', 'projectId'],
  ['agent_id', 'agentId'],
  ['mcp_server_id', 'mcpServerId'],
  ['owner_id', 'ownerId'],
  ['description', 'description'],
];

const COPIED_BY_FIELD = new Map<string, keyof StepRow>(COPIED_COLUMNS);
/** The members of a step spec that the quick reading looks at. */
const QUICK_KEYS: ReadonlySet<string> = new Set(['step_name', 'branch', 'kwargs', ...COPIED_BY_FIELD.keys()]);

function describeKind(node: JsonNode): string {
  if (node.kind === 'true' || node.kind === 'false') return 'a boolean';
  if (node.kind === 'null') return 'null';
  return `${/^[aeiou]/.test(node.kind) ? 'an' : 'a'} ${node.kind}`;
}

function copyWarnings(row: StepRow, text: string, spec: JsonObject): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  for (const [field, column] of COPIED_COLUMNS) {
    const node = getMember(spec, field);
    const columnValue = row[column];
    if (node === undefined || columnValue === undefined) continue;
    const same =
      (node.kind === 'string' && node.value === columnValue) || (node.kind === 'null' && columnValue === null);
    if (!same) {
      warnings.push({
        uid: row.uid,
        version: row.version,
        name: row.name,
        field,
        columnValue: columnValue as string | null,
        specValue: sourceOf(text, node),
      });
    }
  }
  return warnings;
}

/**
 * The common row read quickly: a check of the syntax that builds no value, of the types of the
 * members that matter, and (for a pass that writes) the item's text copied from the spec's own
 * text where that is already in json.dumps form. Anything it does not settle as a valid row with
 * no warning (Python's NaN/Infinity, a wrong type, a column copy that differs, an escaped or
 * repeated key, other spacing, …) is left to the exact reading, which then gives the reason, the
 * warning or the text: it returns undefined for those.
 */
function quickRead(row: StepRow, withText: boolean): StepReading | undefined {
  if (row.specError || row.spec === null || row.name === null || row.name === '') return undefined;
  const source = row.spec;
  const members = quickMembers(source, QUICK_KEYS);
  if (members === undefined) return undefined;
  let stepName: QuickMember | undefined;
  let branch: QuickMember | undefined;
  let kwargs: QuickMember | undefined;
  for (const m of members) {
    // A repeated key: the last one counts, as in Python.
    if (m.key === 'step_name') stepName = m;
    else if (m.key === 'branch') branch = m;
    else if (m.key === 'kwargs') kwargs = m;
    else {
      // A copy of a column: every copy must agree (else the exact reading finds the warning).
      const columnValue = row[COPIED_BY_FIELD.get(m.key) as keyof StepRow];
      if (columnValue === undefined) continue;
      const same =
        (m.kind === 'string' && !m.escaped && source.slice(m.start + 1, m.end - 1) === columnValue) || (m.kind === 'null' && columnValue === null);
      if (!same) return undefined;
    }
  }
  if (stepName?.kind !== 'string') return undefined;
  if (branch !== undefined && branch.kind !== 'string' && branch.kind !== 'null') return undefined;
  if (kwargs !== undefined && kwargs.kind !== 'object' && kwargs.kind !== 'null') return undefined;
  // The exact reading, only if the item is ever compared with one already in a workflow.
  let full: StepItem | undefined;
  const exact = () => (full ??= (exactRead(row) as { item: StepItem }).item);
  const name = row.name;
  if (!withText) {
    const lazy = {
      name,
      get text() {
        return exact().text;
      },
      canonical: () => exact().canonical(),
    };
    return { item: lazy, warnings: [] };
  }
  // The item's text from the spec's own text, where that is already in json.dumps form.
  const span = (m: QuickMember) => (isPyFormSpan(source, m.start, m.end) ? source.slice(m.start, m.end) : undefined);
  const stepText = span(stepName);
  const branchText = branch?.kind === 'string' ? span(branch) : '"default"';
  const kwargsText = kwargs?.kind === 'object' ? span(kwargs) : '{}';
  if (stepText === undefined || branchText === undefined || kwargsText === undefined) return undefined;
  const text = `{"name": ${pyJsonString(name)}, "step_name": ${stepText}, "branch": ${branchText}, "kwargs": ${kwargsText}}`;
  return { item: { name, text, canonical: () => exact().canonical() }, warnings: [] };
}

/**
 * Reads a step row into its item, or the reason it cannot become one (SPEC 2 and 4): quickly
 * for the common row, exactly for the rest. Without `withText` (a pass that writes nothing) the
 * item's text is made only if it is asked for.
 */
export function readStepRow(row: StepRow, withText = true): StepReading {
  return quickRead(row, withText) ?? exactRead(row);
}

/** The exact reading of a step row, through the lossless parser (what the quick one must agree with). */
export function exactRead(row: StepRow): StepReading {
  if (row.specError) return { reason: row.specError, warnings: [] };
  if (row.spec === null) return { reason: 'spec is NULL', warnings: [] };
  const parsed = tryParseJson(row.spec);
  if ('error' in parsed) return { reason: `spec is not valid JSON (${parsed.error})`, warnings: [] };
  const spec = parsed.node;
  if (spec.kind !== 'object') return { reason: `spec is ${describeKind(spec)}, not a JSON object`, warnings: [] };
  const warnings = copyWarnings(row, row.spec, spec);
  const fail = (reason: string) => ({ reason, warnings });
  if (row.name === null || row.name === '') return fail('name is empty');
  const stepName = getMember(spec, 'step_name');
  if (stepName === undefined) return fail('spec.step_name is missing');
  if (stepName.kind !== 'string') return fail(`spec.step_name is ${describeKind(stepName)}, not a string`);
  const branch = getMember(spec, 'branch');
  if (branch !== undefined && branch.kind !== 'string' && branch.kind !== 'null') {
    return fail(`spec.branch is ${describeKind(branch)}, not a string`);
  }
  const kwargs = getMember(spec, 'kwargs');
  if (kwargs !== undefined && kwargs.kind !== 'object' && kwargs.kind !== 'null') {
    return fail(`spec.kwargs is ${describeKind(kwargs)}, neither an object nor null`);
  }
  const hasBranch = branch !== undefined && branch.kind === 'string';
  const hasKwargs = kwargs !== undefined && kwargs.kind === 'object';
  const name = row.name;
  const source = row.spec;
  const text =
    `{"name": ${pyJsonString(name)}, "step_name": ${pyJsonDumpsFrom(source, stepName)}, ` +
    `"branch": ${hasBranch ? pyJsonDumpsFrom(source, branch) : '"default"'}, ` +
    `"kwargs": ${hasKwargs ? pyJsonDumpsFrom(source, kwargs) : '{}'}}`;
  // Needed only when the workflow already has an item of this name: most rows never make it.
  let canonical: string | undefined;
  const canonicalOf = () =>
    (canonical ??=
      `{"branch":${hasBranch ? canonicalJson(branch) : '"default"'},` +
      `"kwargs":${hasKwargs ? canonicalJson(kwargs) : '{}'},` +
      `"name":${JSON.stringify(name)},"step_name":${canonicalJson(stepName)}}`);
  return { item: { name, text, canonical: canonicalOf }, warnings };
}

/** A workflow row's spec, read: its root object (null for NULL/`null`) and its item array. */
interface WorkflowSpec {
  row: WorkflowRow;
  root: JsonObject | null;
  array: JsonArray | null;
  /** Existing items by name; more than one node means the array already repeats the name. */
  byName: Map<string, JsonNode[]>;
}

function readWorkflowRow(row: WorkflowRow): WorkflowSpec | { row: WorkflowRow; reason: string } {
  if (row.specError) return { row, reason: row.specError };
  const empty = { row, root: null, array: null, byName: new Map<string, JsonNode[]>() };
  if (row.spec === null) return empty;
  const parsed = tryParseJson(row.spec);
  if ('error' in parsed) return { row, reason: `spec is not valid JSON (${parsed.error})` };
  const root = parsed.node;
  if (root.kind === 'null') return empty;
  if (root.kind !== 'object') return { row, reason: `spec is ${describeKind(root)}, not a JSON object` };
  const array = getMember(root, TARGET_KEY);
  if (array === undefined) return { ...empty, root };
  if (array.kind !== 'array') return { row, reason: `spec.${TARGET_KEY} is ${describeKind(array)}, not an array` };
  const byName = new Map<string, JsonNode[]>();
  for (const item of array.items) {
    if (item.kind !== 'object') continue;
    const name = getMember(item, 'name');
    if (name?.kind !== 'string') continue;
    const list = byName.get(name.value) ?? [];
    list.push(item);
    byName.set(name.value, list);
  }
  return { row, root, array, byName };
}

/**
 * Writes a workflow spec with items appended to (and some replaced in) its array, copying every
 * other byte of the original text. A NULL or `null` spec becomes an object holding only the array.
 */
export function spliceSpec(
  spec: WorkflowSpec,
  added: string[],
  replaced: { node: JsonNode; text: string }[],
): string {
  const text = spec.row.spec ?? '';
  const { root, array } = spec;
  if (root === null) return `{"${TARGET_KEY}": [${added.join(', ')}]}`;
  const edits: { at: number; end: number; text: string }[] = replaced.map((r) => ({
    at: r.node.start,
    end: r.node.end,
    text: r.text,
  }));
  if (added.length > 0) {
    if (array === null) {
      const member = `"${TARGET_KEY}": [${added.join(', ')}]`;
      const last = root.entries[root.entries.length - 1];
      if (last) edits.push({ at: last.node.end, end: last.node.end, text: `, ${member}` });
      else edits.push({ at: root.start, end: root.end, text: `{${member}}` });
    } else {
      const last = array.items[array.items.length - 1];
      if (last) edits.push({ at: last.end, end: last.end, text: `, ${added.join(', ')}` });
      else edits.push({ at: array.start, end: array.end, text: `[${added.join(', ')}]` });
    }
  }
  edits.sort((a, b) => b.at - a.at);
  let out = text;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}

/**
 * Plans one workflow uid: every version row of it and every step row whose `workflow_id` is that
 * uid. Pure: decides each row's outcome and the new spec text of each workflow row that changes.
 */
export function planWorkflowGroup(
  workflows: WorkflowRow[],
  steps: StepRow[],
  onConflict: OnConflict,
  /** What the caller needs beyond outcomes and counts: the new spec texts, and items in order. */
  detail: { texts: boolean; order: boolean } = { texts: true, order: true },
): GroupPlan {
  if (workflows.length === 0) throw new Error('planWorkflowGroup needs the workflow rows of the group');
  const plan: GroupPlan = { outcomes: [], updates: [], conflicts: [], invalid: [], warnings: [] };
  const invalidate = (row: StepRow, reason: string) => {
    plan.invalid.push({ uid: row.uid, version: row.version, name: row.name, reason } satisfies InvalidRow);
    plan.outcomes.push({ row, outcome: 'invalid' });
  };

  const readings = workflows.map(readWorkflowRow);
  const badWorkflow = readings.find((r): r is { row: WorkflowRow; reason: string } => 'reason' in r);

  const valid: { row: StepRow; item: StepItem }[] = [];
  for (const row of steps) {
    const reading = readStepRow(row, detail.texts);
    plan.warnings.push(...reading.warnings);
    if ('reason' in reading) invalidate(row, reading.reason);
    else valid.push({ row, item: reading.item });
  }

  // Every row with a name counts, valid or not: a twin of an invalid row is a duplicate too.
  const nameCount = new Map<string, number>();
  for (const row of steps) if (row.name) nameCount.set(row.name, (nameCount.get(row.name) ?? 0) + 1);
  let placeable: typeof valid = [];
  for (const v of valid) {
    if (badWorkflow) {
      const w = badWorkflow.row;
      invalidate(v.row, `workflow ${w.uid} (version ${JSON.stringify(w.version)}): ${badWorkflow.reason}`);
    } else if ((nameCount.get(v.item.name) ?? 0) > 1) {
      invalidate(v.row, `another step row of workflow ${v.row.workflowId} has the same name`);
    } else {
      placeable.push(v);
    }
  }
  if (badWorkflow) return plan;
  if (detail.order) placeable = sortByCreatedName(placeable, (p) => p.row);

  const placed = new Set<StepRow>();
  const blocked = new Set<StepRow>();
  const conflicted = new Set<StepRow>();
  for (const spec of readings as WorkflowSpec[]) {
    const added: { name: string; text: string }[] = [];
    const replaced: { name: string; node: JsonNode; text: string }[] = [];
    for (const { row, item } of placeable) {
      const existing = spec.byName.get(item.name);
      if (existing === undefined) {
        added.push(item);
        placed.add(row);
        continue;
      }
      const [node] = existing as [JsonNode];
      // Identical: the same text (what a re-run finds) or, failing that, the same value.
      if (existing.length === 1 && (sourceOf(spec.row.spec ?? '', node) === item.text || canonicalJson(node) === item.canonical())) continue;
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
      conflicted.add(row);
      if (resolution === 'blocking' || (resolution === 'replaced' && !canReplace)) blocked.add(row);
      else if (canReplace) {
        replaced.push({ name: item.name, node, text: item.text });
        placed.add(row);
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

  for (const { row } of placeable) {
    const outcome: RowOutcome = blocked.has(row)
      ? 'conflict'
      : placed.has(row)
        ? 'folded'
        : conflicted.has(row)
          ? 'conflict'
          : 'unchanged';
    plan.outcomes.push({ row, outcome });
  }
  return plan;
}
