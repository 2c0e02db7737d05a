import type mysql from 'mysql2/promise';
import type { BulkWrites } from '../adapter.js';
import { BACKUP_INSERT_COLUMNS, BaseWrites } from '../base-writes.js';
import { STAGE_TABLE } from '../own-tables.js';
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
import { serverOf } from './introspection.js';
import type { MysqlSession } from './session.js';

const ROWS_PER_UPDATE = 1000;

/** The rows an UPDATE found, from the server's info text; null when the server did not say. */
function rowsMatched(result: mysql.ResultSetHeader): number | null {
  const matched = /Rows matched: (\d+)/.exec(result.info ?? '')?.[1];
  return matched === undefined ? null : Number(matched);
}

/**
 * The join of workflow rows `w` with the rows named `v` by key; the BINARY comparisons keep case- and
 * accent-insensitive collations from matching a neighbour.
 */
function keyJoin(hasVersion: boolean, v: string): string {
  return hasVersion
    ? `w.uid = ${v}.uid AND w.version = ${v}.version AND BINARY w.uid = BINARY ${v}.uid AND BINARY w.version = BINARY ${v}.version`
    : `w.uid = ${v}.uid AND BINARY w.uid = BINARY ${v}.uid`;
}

/** MySQL's and MariaDB's writes; the renames of a drop are DDL, which commits on its own. */
export class MysqlWrites extends BaseWrites<MysqlSession> implements BulkWrites {
  constructor(session: MysqlSession) {
    super(session);
  }

  async openStage({ workflow, hasVersion }: StageTarget): Promise<void> {
    // TEMPORARY tables neither commit the transaction nor show to other sessions. Their key
    // columns are made by CREATE … SELECT, so they carry the workflow table's own types and collations.
    await this.session.runNative(`DROP TEMPORARY TABLE IF EXISTS ${STAGE_TABLE}`, []);
    const create = (engine: string) =>
      this.session.query(
        `CREATE TEMPORARY TABLE ${STAGE_TABLE} (spec LONGTEXT, hash VARCHAR(64)) ENGINE=${engine}
         SELECT uid, ${hasVersion ? 'version' : "'' AS version"} FROM ?? WHERE 1 = 0`,
        [qualified(workflow)],
      );
    // On MariaDB, MyISAM where the server has it: the staged specs (about 200 MB at a million step
    // rows) then stay out of InnoDB's buffer pool and redo log, which the fold's own writes need.
    // The stage needs no transaction of its own: it is dropped whether the run commits or not. Not
    // on MySQL, where enforce_gtid_consistency refuses non-transactional writes inside a transaction.
    if ((await serverOf(this.session)).mariadb) {
      try {
        await create('MyISAM');
        return;
      } catch (error) {
        // A server without MyISAM (disabled_storage_engines) says so; the statement alone fails.
        if (this.session.lost) throw error;
      }
    }
    await create('InnoDB');
  }

  async stage(rows: StagedSpec[]): Promise<void> {
    // A prepared statement sends the values as they are (binary protocol): no escaping of
    // megabytes of specs into one SQL text on the client.
    await this.insertStaged(STAGE_TABLE, rows, (sql, values) => this.session.execute(sql, values));
  }

  async writeStage(t: StageTarget): Promise<StageCounts> {
    const on = keyJoin(t.hasVersion, 's');
    const saved = await this.session.write(
      `INSERT INTO ?? ${BACKUP_INSERT_COLUMNS}
       SELECT ?, s.uid, s.version, w.spec, s.hash FROM ${STAGE_TABLE} AS s JOIN ?? AS w ON ${on}`,
      [qualified(t.backups), t.runId, qualified(t.workflow)],
    );
    const updated = await this.session.write(`UPDATE ?? AS w JOIN ${STAGE_TABLE} AS s ON ${on} SET w.spec = s.spec`, [
      qualified(t.workflow),
    ]);
    return { backedUp: saved.affectedRows, updated: rowsMatched(updated) };
  }

  async closeStage(): Promise<void> {
    if (!this.session.lost) await this.session.runNative(`DROP TEMPORARY TABLE IF EXISTS ${STAGE_TABLE}`, []);
  }

  async updateSpecs(ref: TableRef, _specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<WriteCount[]> {
    const size = (r: SpecWrite) => (r.spec?.length ?? 0) + r.uid.length + (r.version?.length ?? 0) + 64; // values and `SELECT ? AS …`
    const counts: WriteCount[] = [];
    for (const chunk of chunks(rows, ROWS_PER_UPDATE, size, this.session.statementChars)) {
      const select = hasVersion ? 'SELECT ? AS uid, ? AS version, ? AS spec' : 'SELECT ? AS uid, ? AS spec';
      const bindings = chunk.flatMap((r) => (hasVersion ? [r.uid, r.version, r.spec] : [r.uid, r.spec]));
      const result = await this.session.write(
        `UPDATE ?? AS w JOIN (${chunk.map(() => select).join(' UNION ALL ')}) AS v ON ${keyJoin(hasVersion, 'v')} SET w.spec = v.spec`,
        [qualified(ref), ...bindings],
      );
      counts.push({ given: chunk.length, written: rowsMatched(result) });
    }
    return counts;
  }

  /**
   * Under LOCK TABLES … WRITE (which waits for every transaction that touched the tables), the
   * step table's row count is checked, then each table is renamed; a rename keeps keys, indexes
   * and the AUTO_INCREMENT counter. A crash between the two renames is finished by the next run.
   * There is no `freezeTables` here: LOCK TABLES inside the fold's transaction would end it.
   */
  async keepTables(tables: KeptTable[], guard: KeepGuard): Promise<{ kept: boolean; captured: string | null }> {
    this.session.committed = true; // DDL commits on its own here
    await this.session.query(
      `LOCK TABLES ${tables.map(() => '?? WRITE').join(', ')}`,
      tables.map((t) => qualified(t.original)),
    );
    try {
      if (tables.some((t) => t.original.table === guard.ref.table)) {
        if (!guard.accepts(await this.rowsOf(guard.ref))) return { kept: false, captured: null };
      }
      for (const t of tables)
        await this.session.query('ALTER TABLE ?? RENAME TO ??', [
          qualified(t.original),
          qualified({ schema: t.original.schema, table: t.kept }),
        ]);
      return { kept: true, captured: null };
    } finally {
      await this.session.query('UNLOCK TABLES');
    }
  }

  async restoreTables(tables: KeptTable[]): Promise<void> {
    this.session.committed = true; // DDL commits on its own here
    const pairs = tables.map((t) => [qualified({ schema: t.original.schema, table: t.kept }), qualified(t.original)]);
    await this.session.query(`RENAME TABLE ${pairs.map(() => '?? TO ??').join(', ')}`, pairs.flat());
  }
}
