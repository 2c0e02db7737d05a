import { chmodSync, closeSync, openSync } from 'node:fs';
import type { BulkWrites } from '../adapter.js';
import { BACKUP_INSERT_COLUMNS, BaseWrites, stageColumnsOf } from '../base-writes.js';
import { STAGE_COLUMNS, STAGE_TABLE } from '../own-tables.js';
import { chunks } from '../sql.js';
import {
  qualified,
  type KeepGuard,
  type KeptTable,
  type SpecWrite,
  type StageCounts,
  type StagedSpec,
  type StageTarget,
  type TableRef,
  type WriteCount,
} from '../types.js';
import { captureTables, recreateTables } from './kept-tables.js';
import type { SqliteIntrospection } from './introspection.js';
import type { SqliteSession } from './session.js';

/** Rows per UPDATE … FROM (VALUES …): three variables each, well under SQLite's 32766. */
const ROWS_PER_UPDATE = 1000;

/** SQLite's writes, all inside the transaction that `BEGIN IMMEDIATE` keeps every other writer out of. */
export class SqliteWrites extends BaseWrites<SqliteSession> implements BulkWrites {
  constructor(
    session: SqliteSession,
    private readonly introspection: SqliteIntrospection,
  ) {
    super(session);
  }

  async openStage(): Promise<void> {
    this.session.exec(`DROP TABLE IF EXISTS temp.${STAGE_TABLE}`);
    this.session.exec(`CREATE TEMP TABLE ${STAGE_TABLE} (${stageColumnsOf('TEXT')})`);
  }

  /**
   * One prepared single-row INSERT run for each row: SQLite is in this process, so a row costs no
   * round trip, and a statement of a thousand rows would cost more to build and parse than to run.
   */
  async stage(rows: StagedSpec[]): Promise<void> {
    if (rows.length === 0) return;
    const insert = this.session.statement(
      `INSERT INTO temp.${STAGE_TABLE} (${STAGE_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?)`,
    );
    for (const r of rows) insert.run(r.uid, r.version, r.spec, r.hash);
  }

  async writeStage(t: StageTarget): Promise<StageCounts> {
    const workflow = this.session.quote(qualified(t.workflow));
    const on = `w.uid = s.uid${t.hasVersion ? ' AND w.version = s.version' : ''}`;
    const backedUp = this.session.changes(
      `INSERT INTO ${this.session.quote(qualified(t.backups))} ${BACKUP_INSERT_COLUMNS}
       SELECT ?, s.uid, s.version, w.spec, s.hash FROM temp.${STAGE_TABLE} AS s JOIN ${workflow} AS w ON ${on}`,
      t.runId,
    );
    // The workflow rows are visited through their key index, each new spec looked up in the stage
    // by its unique key: UPDATE … FROM would read the stage's specs in order and visit the workflow
    // rows at random, which costs more on a large table.
    this.session.exec(`CREATE UNIQUE INDEX temp.${STAGE_TABLE}_key ON ${STAGE_TABLE} (uid, version)`);
    const name = this.session.quote(t.workflow.table);
    const key = t.hasVersion ? `${name}.uid = s.uid AND ${name}.version = s.version` : `${name}.uid = s.uid`;
    const updated = this.session.changes(
      `UPDATE ${workflow} SET spec = (SELECT s.spec FROM temp.${STAGE_TABLE} AS s WHERE ${key})
       WHERE ${t.hasVersion ? '(uid, version) IN (SELECT uid, version' : 'uid IN (SELECT uid'} FROM temp.${STAGE_TABLE})`,
    );
    return { backedUp, updated };
  }

  async closeStage(): Promise<void> {
    if (this.session.db.open) this.session.exec(`DROP TABLE IF EXISTS temp.${STAGE_TABLE}`);
  }

  async updateSpecs(ref: TableRef, _specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<WriteCount[]> {
    const counts: WriteCount[] = [];
    for (const chunk of chunks(rows, ROWS_PER_UPDATE, (r) => r.spec?.length ?? 0)) {
      const values = chunk.map(() => (hasVersion ? '(?, ?, ?)' : '(?, ?)')).join(', ');
      const bindings = chunk.flatMap((r) => (hasVersion ? [r.uid, r.version, r.spec] : [r.uid, r.spec]));
      // VALUES names its columns column1, column2, …
      const spec = hasVersion ? 'v.column3' : 'v.column2';
      const table = this.session.quote(ref.table);
      const sql =
        `UPDATE ${this.session.quote(qualified(ref))} SET spec = ${spec} FROM (VALUES ${values}) AS v ` +
        `WHERE ${table}.uid = v.column1${hasVersion ? ` AND ${table}.version = v.column2` : ''}`;
      counts.push({ given: chunk.length, written: this.session.changes(sql, ...bindings) });
    }
    return counts;
  }

  /**
   * SQLite rewrites a renamed table's CREATE text (it quotes the new name), so the original DDL of
   * each table and its indexes is captured before the rename, to recreate them byte for byte.
   */
  async keepTables(tables: KeptTable[], guard: KeepGuard): Promise<{ kept: boolean; captured: string | null }> {
    if (!guard.accepts(await this.rowsOf(guard.ref))) return { kept: false, captured: null };
    const hasSequence = (await this.introspection.columns({ table: 'sqlite_sequence' })) !== null;
    const captured = await captureTables(this.session, tables, hasSequence);
    // Legacy mode: views and triggers that name the table are left as they are (they work again
    // after a rollback), instead of being rewritten to follow the kept copy.
    this.session.db.pragma('legacy_alter_table = ON');
    try {
      for (const t of tables) await this.session.query('ALTER TABLE ?? RENAME TO ??', [t.original.table, t.kept]);
    } finally {
      this.session.db.pragma('legacy_alter_table = OFF');
    }
    return { kept: true, captured };
  }

  async restoreTables(tables: KeptTable[], captured: string | null): Promise<void> {
    recreateTables(this.session, tables, captured);
  }

  async backupFile(path: string): Promise<void> {
    closeSync(openSync(path, 'wx', 0o600)); // never over an existing file; private from the start
    await this.session.db.backup(path);
    chmodSync(path, 0o600);
  }
}
