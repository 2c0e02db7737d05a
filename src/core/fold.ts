import { parseJson, tryParseJson } from './json/parse.js';
import { isPyFormSpan } from './json/py-form.js';
import { scanItems, scannedItems, scanMembers, scannedMembers, scannedObject, type QuickMember } from './json/scan.js';
import { getMember, sourceOf, type JsonNode, type JsonObject } from './json/tree.js';
import { canonicalJson, pyJsonDumpsFrom, pyJsonString } from './json/write.js';
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
  /** Whether `spec[start, end)` is the item's text, where that can be told without making the text. */
  isTextAt?(spec: string, start: number, end: number): boolean;
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
  if (!pickItemMembers(row, source, true)) return undefined;
  const { stepName, branch, kwargs } = picked;
  if (stepName?.kind !== 'string') return undefined;
  if (branch !== undefined && branch.kind !== 'string' && branch.kind !== 'null') return undefined;
  if (kwargs !== undefined && kwargs.kind !== 'object' && kwargs.kind !== 'null') return undefined;
  if (!withText) return { item: new QuickItem(row, undefined), warnings: NO_WARNINGS };
  const text = itemText(row.name, source, stepName, branch, kwargs);
  return text === undefined ? undefined : { item: new QuickItem(row, text), warnings: NO_WARNINGS };
}

/** The members of a step spec that make its item, as {@link pickItemMembers} found them (one holder, reused). */
const picked: { stepName?: QuickMember; branch?: QuickMember; kwargs?: QuickMember } = {};

/**
 * Scans a step spec for the members that make its item, into `picked`; false when the scanner
 * does not settle the text or (with `checkCopies`) a copy of a column disagrees with it.
 */
function pickItemMembers(row: StepRow, source: string, checkCopies: boolean): boolean {
  const count = scanMembers(source, QUICK_KEYS);
  if (count < 0) return false;
  picked.stepName = picked.branch = picked.kwargs = undefined;
  for (let i = 0; i < count; i++) {
    const m = scannedMembers[i] as QuickMember;
    // A repeated key: the last one counts, as in Python.
    if (m.key === 'step_name') picked.stepName = m;
    else if (m.key === 'branch') picked.branch = m;
    else if (m.key === 'kwargs') picked.kwargs = m;
    else if (checkCopies) {
      // A copy of a column: every copy must agree (else the exact reading finds the warning).
      const columnValue = row[COPIED_BY_FIELD.get(m.key) as keyof StepRow];
      if (columnValue === undefined) continue;
      const same =
        (m.kind === 'string' && !m.escaped && source.slice(m.start + 1, m.end - 1) === columnValue) ||
        (m.kind === 'null' && columnValue === null);
      if (!same) return false;
    }
  }
  return true;
}

/** The item's text from the spec's own text, where that is already in json.dumps form. */
function itemText(
  name: string,
  source: string,
  stepName: QuickMember,
  branch: QuickMember | undefined,
  kwargs: QuickMember | undefined,
): string | undefined {
  const stepText = pyFormText(source, stepName);
  const branchText = branch?.kind === 'string' ? pyFormText(source, branch) : '"default"';
  const kwargsText = kwargs?.kind === 'object' ? pyFormText(source, kwargs) : '{}';
  if (stepText === undefined || branchText === undefined || kwargsText === undefined) return undefined;
  return `{"name": ${pyJsonString(name)}, "step_name": ${stepText}, "branch": ${branchText}, "kwargs": ${kwargsText}}`;
}

/**
 * Whether `spec[start, end)` is exactly the item text of a row that the quick reading accepted,
 * compared piece by piece without making that text (a dry run's re-run compares every row so);
 * undefined when a piece is not in json.dumps form (the item's own text must then be made).
 */
function isItemTextAt(row: StepRow, spec: string, start: number, end: number): boolean | undefined {
  const source = row.spec as string;
  const name = row.name as string;
  if (!pickItemMembers(row, source, false)) return undefined;
  const { stepName, branch, kwargs } = picked;
  if (stepName === undefined || !isPyFormSpan(source, stepName.start, stepName.end)) return undefined;
  const hasBranch = branch?.kind === 'string';
  const hasKwargs = kwargs?.kind === 'object';
  if (
    (hasBranch && !isPyFormSpan(source, branch!.start, branch!.end)) ||
    (hasKwargs && !isPyFormSpan(source, kwargs!.start, kwargs!.end))
  )
    return undefined;
  let p = start;
  const text = (piece: string): boolean => {
    if (!spec.startsWith(piece, p)) return false;
    p += piece.length;
    return true;
  };
  const span = (m: QuickMember): boolean => {
    const length = m.end - m.start;
    for (let j = 0; j < length; j++) if (spec.charCodeAt(p + j) !== source.charCodeAt(m.start + j)) return false;
    p += length;
    return true;
  };
  return (
    text('{"name": ') &&
    text(isPlainAscii(name) ? `"${name}"` : pyJsonString(name)) &&
    text(', "step_name": ') &&
    span(stepName) &&
    text(', "branch": ') &&
    (hasBranch ? span(branch!) : text('"default"')) &&
    text(', "kwargs": ') &&
    (hasKwargs ? span(kwargs!) : text('{}')) &&
    text('}') &&
    p === end
  );
}

/** Printable ASCII without `"` or `\`: its json.dumps text is itself in quotes. */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** A member's text, where it is already in json.dumps form. */
function pyFormText(source: string, m: QuickMember): string | undefined {
  return isPyFormSpan(source, m.start, m.end) ? source.slice(m.start, m.end) : undefined;
}

/** No warnings (shared: never written to). */
const NO_WARNINGS: SpecWarning[] = Object.freeze([]) as unknown as SpecWarning[];

/**
 * An item read quickly. The exact reading is made only if asked for: its canonical form (the
 * item is compared with one already in a workflow), or its text when the quick reading made none.
 */
class QuickItem implements StepItem {
  readonly name: string;
  private full: StepItem | undefined;
  constructor(
    private readonly row: StepRow,
    private readonly quickText: string | undefined,
  ) {
    this.name = row.name as string;
  }
  private exact(): StepItem {
    return (this.full ??= (exactRead(this.row) as { item: StepItem }).item);
  }
  get text(): string {
    return this.quickText ?? this.exact().text;
  }
  isTextAt(spec: string, start: number, end: number): boolean {
    if (this.quickText !== undefined)
      return end - start === this.quickText.length && spec.startsWith(this.quickText, start);
    return (
      isItemTextAt(this.row, spec, start, end) ??
      (end - start === this.text.length && spec.startsWith(this.text, start))
    );
  }
  canonical(): string {
    return this.exact().canonical();
  }
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

/** An item already in a workflow's array: where its text is in the spec. */
interface ItemSpan {
  start: number;
  end: number;
}

/** A workflow row's spec, read: where its object and its item array are, and the items by name. */
interface WorkflowSpec {
  row: WorkflowRow;
  /**
   * Where the spec's object is in its text (null for NULL/`null`): its braces, and the end of its
   * last member's value (-1 for `{}`), where a new member goes.
   */
  object: { start: number; end: number; lastValueEnd: number } | null;
  /** Where the item array is (null when the spec has none), and the end of its last item (-1 for `[]`). */
  array: { start: number; end: number; lastItemEnd: number } | null;
  /** Existing items by name; more than one means the array already repeats the name. */
  byName: ReadonlyMap<string, ItemSpan[]>;
}

const TARGET_KEYS: ReadonlySet<string> = new Set([TARGET_KEY]);
const NAME_KEYS: ReadonlySet<string> = new Set(['name']);
/** No existing items (shared: never written to). */
const NO_ITEMS: ReadonlyMap<string, ItemSpan[]> = new Map();

function readWorkflowRow(row: WorkflowRow): WorkflowSpec | { row: WorkflowRow; reason: string } {
  if (row.specError) return { row, reason: row.specError };
  if (row.spec === null) return { row, object: null, array: null, byName: NO_ITEMS };
  const quick = quickWorkflowSpec(row, row.spec);
  if (quick !== undefined) return quick;
  const parsed = tryParseJson(row.spec);
  if ('error' in parsed) return { row, reason: `spec is not valid JSON (${parsed.error})` };
  const root = parsed.node;
  if (root.kind === 'null') return { row, object: null, array: null, byName: NO_ITEMS };
  if (root.kind !== 'object') return { row, reason: `spec is ${describeKind(root)}, not a JSON object` };
  const last = root.entries[root.entries.length - 1];
  const object = { start: root.start, end: root.end, lastValueEnd: last ? last.node.end : -1 };
  const array = getMember(root, TARGET_KEY);
  if (array === undefined) return { row, object, array: null, byName: NO_ITEMS };
  if (array.kind !== 'array') return { row, reason: `spec.${TARGET_KEY} is ${describeKind(array)}, not an array` };
  const byName = new Map<string, ItemSpan[]>();
  for (const item of array.items) {
    if (item.kind !== 'object') continue;
    const name = getMember(item, 'name');
    if (name?.kind !== 'string') continue;
    addSpan(byName, name.value, { start: item.start, end: item.end });
  }
  const lastItem = array.items[array.items.length - 1];
  return {
    row,
    object,
    array: { start: array.start, end: array.end, lastItemEnd: lastItem ? lastItem.end : -1 },
    byName,
  };
}

function addSpan(byName: Map<string, ItemSpan[]>, name: string, span: ItemSpan): void {
  const list = byName.get(name);
  if (list) list.push(span);
  else byName.set(name, [span]);
}

/**
 * The common specs read by the scanner, without building them: an object without the array (a
 * first run), or with one array whose items' names are plain strings (a re-run). Anything else
 * (an escaped key or name, a repeated array key, NaN, not an object, …) is left to the exact
 * parser: undefined.
 */
function quickWorkflowSpec(row: WorkflowRow, text: string): WorkflowSpec | undefined {
  const count = scanMembers(text, TARGET_KEYS);
  if (count === 0) return { row, object: { ...scannedObject }, array: null, byName: NO_ITEMS };
  const member = scannedMembers[0] as QuickMember;
  if (count !== 1 || member.kind !== 'array') return undefined;
  const object = { ...scannedObject };
  const { start, end } = member;
  const items = scanItems(text, start, end, NAME_KEYS);
  if (items < 0) return undefined;
  const byName = new Map<string, ItemSpan[]>();
  let lastItemEnd = -1;
  for (let i = 0; i < items; i++) {
    const item = scannedItems[i] as (typeof scannedItems)[number];
    lastItemEnd = item.end;
    const name = item.member; // a repeated key: the last one counts
    if (item.kind !== 'object' || name?.kind !== 'string') continue;
    if (name.escaped) return undefined;
    addSpan(byName, text.slice(name.start + 1, name.end - 1), { start: item.start, end: item.end });
  }
  return { row, object, array: { start, end, lastItemEnd }, byName };
}

/**
 * Writes a workflow spec with items appended to (and some replaced in) its array, copying every
 * other byte of the original text. A NULL or `null` spec becomes an object holding only the array.
 */
function spliceSpec(spec: WorkflowSpec, added: string[], replaced: { span: ItemSpan; text: string }[]): string {
  const text = spec.row.spec ?? '';
  const { object, array } = spec;
  if (object === null) return `{"${TARGET_KEY}": [${added.join(', ')}]}`;
  if (replaced.length === 0 && array === null && object.lastValueEnd >= 0) {
    // The common case, one edit: the array as the object's new last member.
    const at = object.lastValueEnd;
    return `${text.slice(0, at)}, "${TARGET_KEY}": [${added.join(', ')}]${text.slice(at)}`;
  }
  const edits: { at: number; end: number; text: string }[] = replaced.map((r) => ({
    at: r.span.start,
    end: r.span.end,
    text: r.text,
  }));
  if (added.length > 0) {
    if (array === null) {
      const member = `"${TARGET_KEY}": [${added.join(', ')}]`;
      if (object.lastValueEnd >= 0)
        edits.push({ at: object.lastValueEnd, end: object.lastValueEnd, text: `, ${member}` });
      else edits.push({ at: object.start, end: object.end, text: `{${member}}` });
    } else if (array.lastItemEnd >= 0) {
      edits.push({ at: array.lastItemEnd, end: array.lastItemEnd, text: `, ${added.join(', ')}` });
    } else {
      edits.push({ at: array.start, end: array.end, text: `[${added.join(', ')}]` });
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

  // What becomes of each valid row: placed in some version row, blocked by a conflict, or met a
  // conflict that was resolved; none of them means unchanged (identical items everywhere).
  const valid: Placing[] = [];
  for (const row of steps) {
    const reading = readStepRow(row, detail.texts);
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
    const outcome: RowOutcome = p.blocked ? 'conflict' : p.placed ? 'folded' : p.conflicted ? 'conflict' : 'unchanged';
    plan.outcomes.push({ row: p.row, outcome });
  }
  return plan;
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
