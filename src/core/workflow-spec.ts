/**
 * A workflow row's spec read for the fold (where its object and its item array are, and the items
 * by name), and written again with items added or replaced, every other byte copied.
 */
import { tryParseJson } from './json/parse.js';
import { JsonScanner, type ScannedItem, type ScannedMember } from './json/scan.js';
import { describeKind, getMember } from './json/tree.js';
import type { WorkflowRow } from './types.js';

/** The key of `workflow.spec` that receives the items. */
export const TARGET_KEY = 'step_configurations';

/** An item already in a workflow's array: where its text is in the spec. */
export interface ItemSpan {
  start: number;
  end: number;
}

/** A workflow row's spec, read: where its object and its item array are, and the items by name. */
export interface WorkflowSpec {
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

/** A workflow row's spec read, or why it cannot be read. */
export type WorkflowReading = WorkflowSpec | { row: WorkflowRow; reason: string };

/**
 * Reads workflow rows' specs. It owns the scanner of its quick reading, whose records every spec
 * it reads reuses (nothing it returns refers to them): a run makes one reader for all its rows.
 */
export class WorkflowSpecReader {
  private readonly scanner = new JsonScanner();

  read(row: WorkflowRow): WorkflowReading {
    if (row.specError) return { row, reason: row.specError };
    if (row.spec === null) return { row, object: null, array: null, byName: NO_ITEMS };
    return this.quickRead(row, row.spec) ?? exactRead(row, row.spec);
  }

  /**
   * The common specs read by the scanner, without building them: an object without the array (a
   * first run), or with one array whose items' names are plain strings (a re-run). Anything else
   * (an escaped key or name, a repeated array key, NaN, not an object, …) is left to the exact
   * parser: undefined.
   */
  private quickRead(row: WorkflowRow, text: string): WorkflowSpec | undefined {
    const scanner = this.scanner;
    const count = scanner.scanMembers(text, TARGET_KEYS);
    if (count === 0) return { row, object: { ...scanner.object }, array: null, byName: NO_ITEMS };
    const member = scanner.members[0] as ScannedMember;
    if (count !== 1 || member.kind !== 'array') return undefined;
    const object = { ...scanner.object };
    const { start, end } = member;
    const items = scanner.scanItems(text, start, end, NAME_KEYS);
    if (items < 0) return undefined;
    const byName = new Map<string, ItemSpan[]>();
    let lastItemEnd = -1;
    for (let i = 0; i < items; i++) {
      const item = scanner.items[i] as ScannedItem;
      lastItemEnd = item.end;
      const name = item.member; // a repeated key: the last one counts
      if (item.kind !== 'object' || name?.kind !== 'string') continue;
      if (name.escaped) return undefined;
      addSpan(byName, text.slice(name.start + 1, name.end - 1), { start: item.start, end: item.end });
    }
    return { row, object, array: { start, end, lastItemEnd }, byName };
  }
}

/** A spec the scanner did not settle, read through the exact parser (which names what is wrong). */
function exactRead(row: WorkflowRow, text: string): WorkflowReading {
  const parsed = tryParseJson(text);
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
 * Writes a workflow spec with items appended to (and some replaced in) its array, copying every
 * other byte of the original text. A NULL or `null` spec becomes an object holding only the array.
 */
export function spliceSpec(spec: WorkflowSpec, added: string[], replaced: { span: ItemSpan; text: string }[]): string {
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
