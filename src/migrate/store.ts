import type {
  ColumnInfo,
  DialectAdapter,
  OrderedScan,
  SelectItem,
  SpecWrite,
  Statement,
  TableRef,
} from '../dialect/adapter.js';
import { qualified } from '../dialect/adapter.js';
import type { Orphan, StepRow, WorkflowRow } from '../core/types.js';
import { expectWritten } from './write-checks.js';

/** Step columns the fold needs, and the optional ones it reports on or checks copies of. */
export const STEP_REQUIRED = ['uid', 'name', 'workflow_id', 'created', 'spec'] as const;
const STEP_OPTIONAL: [string, OptionalField][] = [
  ['version', 'version'],
  ['agent_id', 'agentId'],
  ['mcp_server_id', 'mcpServerId'],
  ['project_id', 'projectId'],
  ['owner_id', 'ownerId'],
  ['description', 'description'],
];
type OptionalField = 'version' | 'agentId' | 'mcpServerId' | 'projectId' | 'ownerId' | 'description';
export const WORKFLOW_REQUIRED = ['uid', 'name', 'spec'] as const;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** A column read as text (or as `read` says) under the name `as`; a null column reads as an empty text. */
function item(column: string | null, as: string, read: SelectItem['read'] = 'text'): SelectItem {
  return { column, read, as };
}
/** The text of an optional column at `i` of a row; undefined when the table has no such column (-1). */
const optionalText = (r: unknown[], i: number): string | null | undefined => (i < 0 ? undefined : text(r[i]));
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JSON column's value as text; bytes that are not UTF-8 (possible in SQLite) are named, not replaced. */
function jsonText(v: unknown): { spec: string | null; specError?: string } {
  if (!(v instanceof Uint8Array)) return { spec: text(v) };
  try {
    return { spec: utf8.decode(v) };
  } catch {
    return { spec: null, specError: 'spec is not valid UTF-8 text' };
  }
}

/** Text that may stand for bytes that were not UTF-8 (the driver shows each as U+FFFD). */
const maybeReplaced = (spec: string | null): boolean => spec !== null && spec.includes('\uFFFD');

/** Keys per workflow lookup (see `workflowsByKeys`). */
const KEYS_PER_LOOKUP = 1000;

/** The dialect-free reads and writes of a run, over whichever adapter is open. */
export class Store {
  private readonly stepSelect: SelectItem[];
  private readonly stepOptional: [string, OptionalField][];
  /** Where each optional step field is in a row read by `stepSelect`; -1 when the table has no such column. */
  private readonly optionalAt: Record<OptionalField, number>;
  readonly workflowHasVersion: boolean;
  private readonly stepHasVersion: boolean;

  constructor(
    readonly adapter: DialectAdapter,
    readonly step: TableRef,
    readonly workflow: TableRef,
    private readonly stepColumns: ColumnInfo[],
    private readonly workflowColumns: ColumnInfo[],
    readonly workflowSpecType: string,
    /** The step table's labels table, when it exists. */
    readonly labels: { ref: TableRef; columns: ColumnInfo[] } | null,
  ) {
    const has = new Set(stepColumns.map((c) => c.name));
    this.stepOptional = STEP_OPTIONAL.filter(([column]) => has.has(column));
    this.stepSelect = [
      item('uid', 's_uid'),
      item('name', 's_name'),
      item('workflow_id', 's_workflow_id'),
      item('created', 's_created'),
      item('spec', 's_spec', 'json'),
      ...this.stepOptional.map(([column]) => item(column, `s_${column}`)),
    ];
    const at = (field: OptionalField) => {
      const i = this.stepOptional.findIndex(([, f]) => f === field);
      return i < 0 ? -1 : 5 + i;
    };
    this.optionalAt = {
      version: at('version'),
      agentId: at('agentId'),
      mcpServerId: at('mcpServerId'),
      projectId: at('projectId'),
      ownerId: at('ownerId'),
      description: at('description'),
    };
    this.workflowHasVersion = workflowColumns.some((c) => c.name === 'version');
    this.stepHasVersion = stepColumns.some((c) => c.name === 'version');
  }

  /** The step columns a pass reads, in order, each with the field of a step row that holds its text. */
  stepFields(): { column: string; field: keyof StepRow }[] {
    const required: [string, keyof StepRow][] = [
      ['uid', 'uid'],
      ['name', 'name'],
      ['workflow_id', 'workflowId'],
      ['created', 'created'],
      ['spec', 'spec'],
    ];
    return [...required, ...this.stepOptional].map(([column, field]) => ({ column, field }));
  }

  /**
   * A step row from its values in the order of `stepSelect`. Every row is made with the same
   * fields in the same order (an absent column's field undefined): a million rows of one shape
   * are made and read faster than rows that gain their optional fields one by one.
   */
  private toStepRow(r: unknown[]): StepRow {
    const spec = r[4];
    const at = this.optionalAt;
    const row: StepRow = {
      uid: String(r[0]),
      version: at.version < 0 ? '' : (text(r[at.version]) ?? ''),
      name: text(r[1]),
      workflowId: text(r[2]),
      created: text(r[3]),
      spec: typeof spec === 'string' ? spec : null,
      agentId: optionalText(r, at.agentId),
      mcpServerId: optionalText(r, at.mcpServerId),
      projectId: optionalText(r, at.projectId),
      ownerId: optionalText(r, at.ownerId),
      description: optionalText(r, at.description),
    };
    if (spec !== null && typeof spec !== 'string') Object.assign(row, jsonText(spec));
    return row;
  }

  async countSteps(): Promise<number> {
    const [row] = await this.adapter.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM ??', [
      qualified(this.step),
    ]);
    return Number(row?.n ?? 0);
  }

  /** Every workflow row's key (uid, version): small enough to hold for a million step rows. */
  async workflowKeys(): Promise<{ uid: string; version: string }[]> {
    const version = this.workflowHasVersion ? this.adapter.asText('version') : "''";
    const rows = await this.adapter.query<{ uid: unknown; version: unknown }>(
      `SELECT ${this.adapter.asText('uid')} AS uid, ${version} AS version FROM ??`,
      [qualified(this.workflow)],
    );
    return rows.map((r) => ({ uid: String(r.uid), version: text(r.version) ?? '' }));
  }

  /**
   * Every step row grouped by exact `workflow_id` with its workflow's rows, in one pass (see
   * `DialectAdapter.orderedScan`); undefined where the database reads better by key.
   */
  async orderedGroups(batchGroups: number): Promise<OrderedGroups | undefined> {
    const scan = await this.adapter.orderedScan?.({
      step: this.step,
      workflow: this.workflow,
      stepSelect: this.stepSelect,
      workflowSelect: this.workflowSelect(),
      batchGroups,
    });
    if (!scan) return undefined;
    const toWorkflow = (r: unknown[]) => this.toWorkflowRow(r);
    const toStep = (r: unknown[]) => this.toStepRow(r);
    return {
      steps: scan.steps,
      async *batches() {
        for await (const groups of scan.batches()) {
          yield groups.map((g) => ({ workflows: g.workflows.map(toWorkflow), steps: g.steps.map(toStep) }));
        }
      },
      close: () => scan.close(),
    };
  }

  private workflowSelect(): SelectItem[] {
    const version = item(this.workflowHasVersion ? 'version' : null, 'version');
    return [item('uid', 'uid'), version, item('name', 'name'), item('spec', 'spec', 'json')];
  }

  /** A workflow row from its values in the order of `workflowSelect`. */
  private toWorkflowRow(r: unknown[]): WorkflowRow {
    return { uid: String(r[0]), version: text(r[1]) ?? '', name: String(r[2]), ...jsonText(r[3]) };
  }

  /** The distinct non-empty `workflow_id` values of the step table (read from its index). */
  async stepWorkflowIds(): Promise<string[]> {
    const rows = await this.adapter.query<{ id: unknown }>(
      "SELECT DISTINCT workflow_id AS id FROM ?? WHERE workflow_id IS NOT NULL AND workflow_id <> ''",
      [qualified(this.step)],
    );
    return rows.map((r) => String(r.id));
  }

  /** A lookup of these keys' rows in a table (see `DialectAdapter.keyLookup`). */
  private lookup(
    select: SelectItem[],
    table: TableRef,
    columns: ColumnInfo[],
    names: string[],
    keys: string[][],
    lock = false,
  ) {
    const key = names.map((n) => columns.find((c) => c.name === n) ?? { name: n, type: '' });
    return this.adapter.keyLookup(select, table, key, keys, lock && this.adapter.rowLocks);
  }

  private queryLookup(lookup: Statement): Promise<Record<string, unknown>[]> {
    return this.adapter.query(lookup.template, lookup.bindings);
  }

  /** The key columns and values of (uid, version) keys, without version where the table has none. */
  private static keyed(
    keys: { uid: string; version: string }[],
    withVersion: boolean,
  ): { names: string[]; values: string[][] } {
    return withVersion
      ? { names: ['uid', 'version'], values: keys.map((k) => [k.uid, k.version]) }
      : { names: ['uid'], values: keys.map((k) => [k.uid]) };
  }

  /**
   * These workflow rows, by exact key; `lock` takes row locks where the database has them. At
   * most {@link KEYS_PER_LOOKUP} keys per statement: with longer IN lists MariaDB's planner turns
   * to a full scan (and, locking, locks every row it scans).
   */
  async workflowsByKeys(keys: { uid: string; version: string }[], lock: boolean): Promise<WorkflowRow[]> {
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_LOOKUP) {
      const key = Store.keyed(keys.slice(i, i + KEYS_PER_LOOKUP), this.workflowHasVersion);
      const list = this.workflowSelect();
      for (const row of await this.queryLookup(
        this.lookup(list, this.workflow, this.workflowColumns, key.names, key.values, lock),
      ))
        rows.push(row);
    }
    const wanted = new Set(keys.map((k) => JSON.stringify([k.uid, k.version])));
    const found = rows
      .map((r) => ({ uid: String(r.uid), version: text(r.version) ?? '', name: String(r.name), ...jsonText(r.spec) }))
      .filter((w) => wanted.has(JSON.stringify([w.uid, this.workflowHasVersion ? w.version : ''])));
    await this.checkBytes(this.workflow, this.workflowHasVersion, found);
    return found;
  }

  /**
   * Reads again, as bytes, the JSON of the rows whose text shows a U+FFFD, and marks those that
   * are not UTF-8 (SQLite). One query per batch, and only when such a row is in it.
   */
  private async checkBytes(
    table: TableRef,
    hasVersion: boolean,
    rows: { uid: string; version: string; spec: string | null; specError?: string }[],
  ): Promise<void> {
    // Only SQLite can hold such bytes: elsewhere no spec is searched for a U+FFFD.
    if (!this.adapter.asJsonBytes) return;
    const suspects = rows.filter((r) => maybeReplaced(r.spec));
    if (suspects.length === 0) return;
    const key = Store.keyed(suspects, hasVersion);
    const list = [
      item('uid', 'uid'),
      item(hasVersion ? 'version' : null, 'version'),
      item('spec', 'spec', 'json-bytes'),
    ];
    const bytes = await this.queryLookup(
      this.lookup(list, table, table === this.step ? this.stepColumns : this.workflowColumns, key.names, key.values),
    );
    const byKey = new Map(bytes.map((b) => [JSON.stringify([String(b.uid), text(b.version) ?? '']), b.spec]));
    for (const row of suspects) {
      const read = jsonText(byKey.get(JSON.stringify([row.uid, hasVersion ? row.version : ''])));
      row.spec = read.spec;
      if (read.specError) row.specError = read.specError;
    }
  }

  /**
   * The step rows whose `workflow_id` is exactly one of these ids. The database's collation may
   * match more (case, trailing spaces on MySQL): those rows are left out when their id is
   * `known` (another batch asks for it), and kept otherwise (no batch would find them).
   */
  async stepsFor(ids: string[], known: (id: string) => boolean): Promise<StepRow[]> {
    const lookup = this.lookup(
      this.stepSelect,
      this.step,
      this.stepColumns,
      ['workflow_id'],
      ids.map((id) => [id]),
    );
    const rows = await this.adapter.queryArrays(lookup.template, lookup.bindings);
    const wanted = new Set(ids);
    const found = rows
      .map((r) => this.toStepRow(r))
      .filter((row) => wanted.has(row.workflowId ?? '') || !known(row.workflowId ?? ''));
    await this.checkBytes(this.step, this.stepHasVersion, found);
    return found;
  }

  /** Rows with no workflow_id at all (NULL or empty). */
  async rowsWithoutWorkflow(): Promise<StepRow[]> {
    const list = this.adapter.selectList(this.stepSelect);
    const rows = await this.adapter.queryArrays(
      `SELECT ${list.template} FROM ?? WHERE workflow_id IS NULL OR workflow_id = ''`,
      [...list.bindings, qualified(this.step)],
    );
    const found = rows.map((r) => this.toStepRow(r));
    await this.checkBytes(this.step, this.stepHasVersion, found);
    return found;
  }

  /**
   * Complete step rows (every column as stored text) with their label rows, for an export file:
   * a few hundred at a time, so that the export of a large table goes to its file as it is read.
   */
  async *exportRows(keys: { uid: string; version: string }[]): AsyncGenerator<ExportedRow[]> {
    const wanted = new Set(keys.map((k) => JSON.stringify([k.uid, k.version])));
    // Every column as text under its own name.
    const select = (columns: ColumnInfo[]) => columns.map((c) => item(c.name, c.name));
    const hasVersion = this.stepColumns.some((c) => c.name === 'version');
    for (let i = 0; i < keys.length; i += 500) {
      const key = Store.keyed(keys.slice(i, i + 500), hasVersion);
      const rows = await this.queryLookup(
        this.lookup(select(this.stepColumns), this.step, this.stepColumns, key.names, key.values),
      );
      const mine = rows.filter((r) =>
        wanted.has(JSON.stringify([String(r.uid), hasVersion ? (text(r.version) ?? '') : ''])),
      );
      const parents = mine.map((r) => text(r.name)).filter((n): n is string => n !== null);
      const labels =
        this.labels && parents.length > 0
          ? await this.queryLookup(
              this.lookup(
                select(this.labels.columns),
                this.labels.ref,
                this.labels.columns,
                ['parent'],
                parents.map((p) => [p]),
              ),
            )
          : [];
      yield mine.map((row) => ({
        columns: asTexts(row),
        labels: labels.filter((l) => text(l.parent) === text(row.name)).map(asTexts),
      }));
    }
  }

  async writeSpecs(rows: SpecWrite[]): Promise<void> {
    if (rows.length === 0) return;
    const counts = await this.adapter.updateSpecs(this.workflow, this.workflowSpecType, this.workflowHasVersion, rows);
    for (const c of counts) expectWritten(c.given, [c.written]);
  }
}

/** Step rows grouped with their workflow's rows (see `Store.orderedGroups`). */
export interface OrderedGroups {
  readonly steps: OrderedScan['steps'];
  batches(): AsyncIterable<{ workflows: WorkflowRow[]; steps: StepRow[] }[]>;
  close(): Promise<void>;
}

/** A step row exported whole: every column as stored text, and its label rows. */
export interface ExportedRow {
  columns: Record<string, string | null>;
  labels: Record<string, string | null>[];
}

function asTexts(row: Record<string, unknown>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, text(v)]));
}

/** A step row reported as an orphan. */
export function toOrphan(row: StepRow, reason: Orphan['reason']): Orphan {
  return {
    uid: row.uid,
    version: row.version,
    name: row.name,
    reason,
    workflowId: row.workflowId,
    agentId: row.agentId ?? null,
    mcpServerId: row.mcpServerId ?? null,
  };
}
