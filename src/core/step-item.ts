/**
 * A step row read into the item it becomes in its workflow's array: quickly, by the scanner, for
 * the common row, exactly (through the parser) for the rest and for every reason a row is invalid.
 */
import { tryParseJson } from './json/parse.js';
import { PyFormChecker } from './json/py-form.js';
import { JsonScanner, type ScannedMember } from './json/scan.js';
import { describeKind, getMember, sourceOf, type JsonNode, type JsonObject } from './json/tree.js';
import { canonicalJson, pyJsonDumpsFrom, pyJsonString } from './json/write.js';
import type { SpecWarning, StepRow } from './types.js';

/** The item a step row becomes: its JSON text, and a canonical form for comparison (made on demand). */
export interface StepItem {
  name: string;
  text: string;
  canonical(): string;
  /** Whether `spec[start, end)` is the item's text, where that can be told without making the text. */
  isTextAt?(spec: string, start: number, end: number): boolean;
}

export type StepReading = { item: StepItem; warnings: SpecWarning[] } | { reason: string; warnings: SpecWarning[] };

/** Column copies that the controller's update path leaves in a step row's spec. */
const COPIED_COLUMNS: readonly (readonly [string, keyof StepRow])[] = [
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

const COPIED_BY_FIELD: ReadonlyMap<string, keyof StepRow> = new Map(COPIED_COLUMNS);
/** The members of a step spec that the quick reading looks at. */
const QUICK_KEYS: ReadonlySet<string> = new Set(['step_name', 'branch', 'kwargs', ...COPIED_BY_FIELD.keys()]);

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

/** No warnings (shared: never written to). */
const NO_WARNINGS: SpecWarning[] = Object.freeze([]) as unknown as SpecWarning[];

/**
 * Reads step rows into their items, or the reasons they cannot become one: quickly for the
 * common row, exactly for the rest. It owns the scanner and the json.dumps form checker of its
 * quick reading, whose records every row it reads reuses: a run makes one reader and reads all
 * its rows with it. An item it returned may use it again (to compare its text, or for its exact
 * reading); every such use scans anew, so it may come after other rows were read.
 */
export class StepReader {
  private readonly scanner = new JsonScanner();
  private readonly pyForm = new PyFormChecker();
  /** The members of the spec last scanned that make its item, as {@link pickItemMembers} found them. */
  private readonly picked: {
    stepName: ScannedMember | undefined;
    branch: ScannedMember | undefined;
    kwargs: ScannedMember | undefined;
  } = { stepName: undefined, branch: undefined, kwargs: undefined };

  /**
   * Reads a step row into its item, or the reason it cannot become one. Without `withText` (a
   * pass that writes nothing) the item's text is made only if it is asked for.
   */
  read(row: StepRow, withText = true): StepReading {
    return this.quickRead(row, withText) ?? this.exactRead(row);
  }

  /** The exact reading of a step row, through the lossless parser (what the quick one must agree with). */
  exactRead(row: StepRow): StepReading {
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
    const item = this.exactItem(
      row.name,
      row.spec,
      stepName,
      branch?.kind === 'string' ? branch : undefined,
      kwargs?.kind === 'object' ? kwargs : undefined,
    );
    return { item, warnings };
  }

  /**
   * Whether `spec[start, end)` is exactly the item text of a row that the quick reading accepted,
   * compared piece by piece without making that text (a dry run's re-run compares every row so);
   * undefined when a piece is not in json.dumps form (the item's own text must then be made).
   */
  isItemTextAt(row: StepRow, spec: string, start: number, end: number): boolean | undefined {
    const source = row.spec as string;
    const name = row.name as string;
    if (!this.pickItemMembers(row, source, false)) return undefined;
    const { stepName, branch, kwargs } = this.picked;
    if (stepName === undefined || !this.pyForm.isPyForm(source, stepName.start, stepName.end)) return undefined;
    const hasBranch = branch?.kind === 'string';
    const hasKwargs = kwargs?.kind === 'object';
    if (
      (hasBranch && !this.pyForm.isPyForm(source, branch!.start, branch!.end)) ||
      (hasKwargs && !this.pyForm.isPyForm(source, kwargs!.start, kwargs!.end))
    )
      return undefined;
    let p = start;
    const text = (piece: string): boolean => {
      if (!spec.startsWith(piece, p)) return false;
      p += piece.length;
      return true;
    };
    const span = (m: ScannedMember): boolean => {
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

  /**
   * The common row read quickly: a check of the syntax that builds no value, of the types of the
   * members that matter, and (for a pass that writes) the item's text copied from the spec's own
   * text where that is already in json.dumps form. Anything it does not settle as a valid row with
   * no warning (Python's NaN/Infinity, a wrong type, a column copy that differs, an escaped or
   * repeated key, other spacing, …) is left to the exact reading, which then gives the reason, the
   * warning or the text: it returns undefined for those.
   */
  private quickRead(row: StepRow, withText: boolean): StepReading | undefined {
    if (row.specError || row.spec === null || row.name === null || row.name === '') return undefined;
    const source = row.spec;
    if (!this.pickItemMembers(row, source, true)) return undefined;
    const { stepName, branch, kwargs } = this.picked;
    if (stepName?.kind !== 'string') return undefined;
    if (branch !== undefined && branch.kind !== 'string' && branch.kind !== 'null') return undefined;
    if (kwargs !== undefined && kwargs.kind !== 'object' && kwargs.kind !== 'null') return undefined;
    if (!withText) return { item: new QuickItem(this, row, undefined), warnings: NO_WARNINGS };
    const text = this.itemText(row.name, source, stepName, branch, kwargs);
    return text === undefined ? undefined : { item: new QuickItem(this, row, text), warnings: NO_WARNINGS };
  }

  /**
   * Scans a step spec for the members that make its item, into `picked`; false when the scanner
   * does not settle the text or (with `checkCopies`) a copy of a column disagrees with it.
   */
  private pickItemMembers(row: StepRow, source: string, checkCopies: boolean): boolean {
    const count = this.scanner.scanMembers(source, QUICK_KEYS);
    if (count < 0) return false;
    const picked = this.picked;
    const members = this.scanner.members;
    picked.stepName = picked.branch = picked.kwargs = undefined;
    for (let i = 0; i < count; i++) {
      const m = members[i] as ScannedMember;
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
  private itemText(
    name: string,
    source: string,
    stepName: ScannedMember,
    branch: ScannedMember | undefined,
    kwargs: ScannedMember | undefined,
  ): string | undefined {
    const stepText = this.pyFormText(source, stepName);
    const branchText = branch?.kind === 'string' ? this.pyFormText(source, branch) : '"default"';
    const kwargsText = kwargs?.kind === 'object' ? this.pyFormText(source, kwargs) : '{}';
    if (stepText === undefined || branchText === undefined || kwargsText === undefined) return undefined;
    return `{"name": ${pyJsonString(name)}, "step_name": ${stepText}, "branch": ${branchText}, "kwargs": ${kwargsText}}`;
  }

  /** A member's text, where it is already in json.dumps form. */
  private pyFormText(source: string, m: ScannedMember): string | undefined {
    return this.pyForm.isPyForm(source, m.start, m.end) ? source.slice(m.start, m.end) : undefined;
  }

  /**
   * The item of a valid row from its parsed members (`branch` when it is a string, `kwargs` when
   * it is an object): its text, and its canonical form made on demand.
   */
  private exactItem(
    name: string,
    source: string,
    stepName: JsonNode,
    branch: JsonNode | undefined,
    kwargs: JsonNode | undefined,
  ): StepItem {
    const text =
      `{"name": ${pyJsonString(name)}, "step_name": ${pyJsonDumpsFrom(source, stepName, this.pyForm)}, ` +
      `"branch": ${branch ? pyJsonDumpsFrom(source, branch, this.pyForm) : '"default"'}, ` +
      `"kwargs": ${kwargs ? pyJsonDumpsFrom(source, kwargs, this.pyForm) : '{}'}}`;
    // Needed only when the workflow already has an item of this name: most rows never make it.
    let canonical: string | undefined;
    const canonicalOf = () =>
      (canonical ??=
        `{"branch":${branch ? canonicalJson(branch) : '"default"'},` +
        `"kwargs":${kwargs ? canonicalJson(kwargs) : '{}'},` +
        `"name":${JSON.stringify(name)},"step_name":${canonicalJson(stepName)}}`);
    return { name, text, canonical: canonicalOf };
  }
}

/** Printable ASCII without `"` or `\`: its json.dumps text is itself in quotes. */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * An item read quickly. The exact reading is made only if asked for: its canonical form (the
 * item is compared with one already in a workflow), or its text when the quick reading made none.
 */
class QuickItem implements StepItem {
  readonly name: string;
  private full: StepItem | undefined;
  constructor(
    private readonly reader: StepReader,
    private readonly row: StepRow,
    private readonly quickText: string | undefined,
  ) {
    this.name = row.name as string;
  }
  private exact(): StepItem {
    return (this.full ??= (this.reader.exactRead(this.row) as { item: StepItem }).item);
  }
  get text(): string {
    return this.quickText ?? this.exact().text;
  }
  isTextAt(spec: string, start: number, end: number): boolean {
    if (this.quickText !== undefined)
      return end - start === this.quickText.length && spec.startsWith(this.quickText, start);
    return (
      this.reader.isItemTextAt(this.row, spec, start, end) ??
      (end - start === this.text.length && spec.startsWith(this.text, start))
    );
  }
  canonical(): string {
    return this.exact().canonical();
  }
}
