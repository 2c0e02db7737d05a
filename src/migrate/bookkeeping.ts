import { createHash } from 'node:crypto';
import { tryParseJson } from '../core/json/parse.js';
import { canonicalJson } from '../core/json/write.js';
import { qualified, type DialectAdapter, type KeptTable, type TableRef } from '../dialect/adapter.js';
import { BACKUPS_TABLE, defineBackupsTable, defineRunsTable, RUNS_TABLE } from '../dialect/own-tables.js';

export { BACKUPS_TABLE, RUNS_TABLE, TOOL_PREFIX } from '../dialect/own-tables.js';

/**
 * `running` while a run holds the lock; `interrupted` for a run that died holding it (kill -9, a
 * lost machine), as the next writing run records it.
 */
export type RunStatus = 'running' | 'interrupted' | 'applied' | 'folded' | 'rolled_back' | 'done';

/** A run as recorded in {@link RUNS_TABLE}. `folded` = fold committed, drop still to do (MySQL). */
export interface RunRecord {
  id: string;
  mode: 'apply' | 'rollback';
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  host: string;
  pid: number;
  toolVersion: string;
  stepTable: string;
  workflowTable: string;
  options: string;
  summary: string;
  tableDropped: boolean;
  keptStepTable: string | null;
  keptLabelsTable: string | null;
  restoreDdl: string | null;
  rolledBackBy: string | null;
  rolledBackAt: string | null;
}

/** The original text of one workflow row's spec, and a fingerprint of what the run wrote. */
export interface SpecBackup {
  uid: string;
  version: string;
  original: string | null;
  writtenHash: string;
}

/** Each field of a run record and its column in {@link RUNS_TABLE}, in the table's order. */
export const RUN_COLUMNS: [keyof RunRecord, string][] = [
  ['id', 'id'],
  ['mode', 'mode'],
  ['status', 'status'],
  ['startedAt', 'started_at'],
  ['finishedAt', 'finished_at'],
  ['host', 'host'],
  ['pid', 'pid'],
  ['toolVersion', 'tool_version'],
  ['stepTable', 'step_table'],
  ['workflowTable', 'workflow_table'],
  ['options', 'options'],
  ['summary', 'summary'],
  ['tableDropped', 'table_dropped'],
  ['keptStepTable', 'kept_step_table'],
  ['keptLabelsTable', 'kept_labels_table'],
  ['restoreDdl', 'restore_ddl'],
  ['rolledBackBy', 'rolled_back_by'],
  ['rolledBackAt', 'rolled_back_at'],
];

/** A fingerprint of a JSON text that survives re-serialisation (key order, spacing, number form). */
export function specHash(text: string | null): string {
  const parsed = text === null ? undefined : tryParseJson(text);
  const canonical = parsed && 'node' in parsed ? canonicalJson(parsed.node) : `raw:${text}`;
  return createHash('sha256').update(canonical).digest('hex');
}

/** The prefix of a fingerprint of the exact text (base64, so it fits the 64 characters of the column). */
const TEXT_HASH = 't:';

/**
 * The fingerprint a run keeps of a spec it wrote. Where the column keeps the text as written
 * (SQLite, PostgreSQL `json`/text, MariaDB), a hash of the text itself: no parse, and any later
 * edit, even one that only re-spaces it, shows as one. Where the database re-serialises JSON
 * (PostgreSQL `jsonb`, MySQL `JSON`), the canonical {@link specHash}.
 */
export function writtenHash(text: string, keepsText: boolean): string {
  return keepsText ? TEXT_HASH + createHash('sha256').update(text).digest('base64') : specHash(text);
}

/** Whether a workflow's current spec is still what a run wrote (by its {@link writtenHash}). */
export function stillAsWritten(current: string | null, hash: string): boolean {
  if (hash.startsWith(TEXT_HASH)) return current !== null && writtenHash(current, true) === hash;
  return specHash(current) === hash;
}

/** The tool's own tables: the run records and the original specs it replaced. */
export class Bookkeeping {
  readonly runs: TableRef;
  readonly backups: TableRef;

  constructor(
    private readonly adapter: DialectAdapter,
    readonly schema: string | undefined,
  ) {
    this.runs = { schema, table: RUNS_TABLE };
    this.backups = { schema, table: BACKUPS_TABLE };
  }

  async exists(): Promise<boolean> {
    return (await this.adapter.columns(this.runs)) !== null;
  }

  /** Creates the tables that are missing (inside the transaction where DDL is transactional). */
  async ensureTables(): Promise<void> {
    if ((await this.adapter.columns(this.runs)) === null) {
      await this.adapter.createTable(this.runs, defineRunsTable);
    }
    if ((await this.adapter.columns(this.backups)) === null) {
      await this.adapter.createTable(this.backups, defineBackupsTable);
    }
  }

  /**
   * Drops both tables when neither holds a row (a run made them and then recorded nothing);
   * returns whether it did. A row in either is a run's record or backup, and stays.
   */
  async dropIfEmpty(): Promise<boolean> {
    for (const ref of [this.runs, this.backups]) {
      if ((await this.adapter.query('SELECT 1 AS one FROM ?? LIMIT 1', [qualified(ref)])).length > 0) return false;
    }
    for (const ref of [this.backups, this.runs]) await this.adapter.dropTable(ref);
    return true;
  }

  /** Every recorded run, oldest first. */
  async listRuns(): Promise<RunRecord[]> {
    if (!(await this.exists())) return [];
    const rows = await this.adapter.query<Record<string, unknown>>(
      `SELECT ${RUN_COLUMNS.map(([, c]) => this.adapter.asText(c) + ' AS ' + c).join(', ')} FROM ?? ORDER BY started_at, id`,
      [qualified(this.runs)],
    );
    return rows.map((r) => {
      const run = Object.fromEntries(
        RUN_COLUMNS.map(([key, column]) => [key, r[column] ?? null]),
      ) as unknown as RunRecord;
      run.pid = Number(run.pid);
      run.tableDropped = Number(r.table_dropped) === 1;
      return run;
    });
  }

  /**
   * Records a writing run as `running` while it holds the lock (in its own statement, so that a
   * waiting run can name it), when the tool's tables exist. Returns whether it did.
   */
  async startRun(run: RunRecord): Promise<boolean> {
    if (!(await this.exists())) return false;
    await this.insertRun({ ...run, status: 'running' });
    return true;
  }

  /** The runs that recorded themselves as holding the lock, oldest first (a killed run's stays). */
  async runningRecords(): Promise<RunRecord[]> {
    return (await this.listRuns()).filter((r) => r.status === 'running');
  }

  /** Records the given `running` runs as `interrupted`: they died without a word (see `staleRuns`). */
  async markInterrupted(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.adapter.query(`UPDATE ?? SET status = 'interrupted' WHERE status = 'running' AND id IN (?)`, [
      qualified(this.runs),
      ids,
    ]);
  }

  /** Removes a run's `running` record (a run that ended without writing leaves nothing). */
  async forgetRun(id: string): Promise<void> {
    if (await this.exists())
      await this.adapter.query("DELETE FROM ?? WHERE id = ? AND status = 'running'", [qualified(this.runs), id]);
  }

  /** Writes a run's final record over its `running` one (inside the run's transaction). */
  async saveRun(run: RunRecord): Promise<void> {
    await this.adapter.query('DELETE FROM ?? WHERE id = ?', [qualified(this.runs), run.id]);
    await this.insertRun(run);
  }

  async insertRun(run: RunRecord): Promise<void> {
    const values = RUN_COLUMNS.map(([key]) => (key === 'tableDropped' ? (run.tableDropped ? 1 : 0) : run[key]));
    await this.adapter.query(
      `INSERT INTO ?? (${RUN_COLUMNS.map(() => '??').join(', ')}) VALUES (${RUN_COLUMNS.map(() => '?').join(', ')})`,
      [qualified(this.runs), ...RUN_COLUMNS.map(([, c]) => c), ...values],
    );
  }

  async updateRun(id: string, fields: Partial<RunRecord>): Promise<void> {
    const entries = RUN_COLUMNS.filter(([key]) => key in fields);
    const values = entries.map(([key]) => (key === 'tableDropped' ? (fields.tableDropped ? 1 : 0) : fields[key]));
    await this.adapter.query(`UPDATE ?? SET ${entries.map(() => '?? = ?').join(', ')} WHERE id = ?`, [
      qualified(this.runs),
      ...entries.flatMap(([, c], i) => [c, values[i]]),
      id,
    ]);
  }

  /** A run's backups in pages (keyset on uid, version), so a million rows never sit in memory. */
  async *backupsOf(runId: string, pageSize: number): AsyncGenerator<SpecBackup[]> {
    let after: [string, string] | null = null;
    for (;;) {
      const rows: Record<string, unknown>[] = await this.adapter.query(
        `SELECT workflow_uid, workflow_version, ${this.adapter.asText('original_spec')} AS original_spec, written_hash FROM ??
         WHERE run_id = ?${after ? ' AND workflow_uid >= ? AND (workflow_uid > ? OR workflow_version > ?)' : ''}
         ORDER BY workflow_uid, workflow_version LIMIT ?`,
        // `workflow_uid >= ?` starts the page where the primary key's range does, on every database.
        [qualified(this.backups), runId, ...(after ? [after[0], after[0], after[1]] : []), pageSize],
      );
      if (rows.length === 0) return;
      const page = rows.map((r) => ({
        uid: String(r.workflow_uid),
        version: String(r.workflow_version),
        original: r.original_spec === null ? null : String(r.original_spec),
        writtenHash: String(r.written_hash),
      }));
      const last = page[page.length - 1] as SpecBackup;
      after = [last.uid, last.version];
      yield page;
    }
  }

  /** The kept tables of a run, as the adapter restores them. */
  keptTables(run: RunRecord): KeptTable[] {
    const kept: KeptTable[] = [];
    if (run.keptStepTable)
      kept.push({ original: { schema: this.schema, table: run.stepTable }, kept: run.keptStepTable });
    if (run.keptLabelsTable) {
      kept.push({ original: { schema: this.schema, table: `${run.stepTable}_labels` }, kept: run.keptLabelsTable });
    }
    return kept;
  }

  /** Removes every table of the tool's: kept tables, backups, runs. Returns what it dropped. */
  async dropAll(): Promise<string[]> {
    const dropped: string[] = [];
    for (const run of await this.listRuns()) {
      for (const name of [run.keptLabelsTable, run.keptStepTable]) {
        // labels first: they reference the steps
        if (
          name &&
          run.status !== 'rolled_back' &&
          (await this.adapter.columns({ schema: this.schema, table: name })) !== null
        ) {
          await this.adapter.dropTable({ schema: this.schema, table: name });
          dropped.push(name);
        }
      }
    }
    for (const ref of [this.backups, this.runs]) {
      if ((await this.adapter.columns(ref)) !== null) {
        await this.adapter.dropTable(ref);
        dropped.push(ref.table);
      }
    }
    return dropped;
  }
}
