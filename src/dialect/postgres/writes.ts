import { ToolError } from '../../errors.js';
import type { BulkWrites } from '../adapter.js';
import { BACKUP_INSERT_COLUMNS, BaseWrites, stageColumnsOf } from '../base-writes.js';
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
import { JSON_TYPES } from './introspection.js';
import type { PostgresSession } from './session.js';

const ROWS_PER_UPDATE = 1000;
const STAGE = `pg_temp.${STAGE_TABLE}`;

/** The cast that turns text into a spec column's type; refuses a type the tool cannot write JSON into. */
function specCast(specType: string): string {
  if (!JSON_TYPES.includes(specType)) throw new ToolError(`unsupported spec column type ${specType}`);
  return specType === 'character varying' ? 'text' : specType;
}

/** PostgreSQL's writes: set-based, in the transaction; renames keep everything a table owns. */
export class PostgresWrites extends BaseWrites<PostgresSession> implements BulkWrites {
  constructor(session: PostgresSession) {
    super(session);
  }

  async openStage(): Promise<void> {
    await this.session.runNative(`DROP TABLE IF EXISTS ${STAGE}`, []);
    await this.session.runNative(`CREATE TEMP TABLE ${STAGE_TABLE} (${stageColumnsOf('text')}) ON COMMIT DROP`, []);
  }

  async stage(rows: StagedSpec[]): Promise<void> {
    await this.insertStaged(STAGE, rows);
  }

  async writeStage(t: StageTarget): Promise<StageCounts> {
    const cast = specCast(t.specType);
    const on = `w.uid = s.uid${t.hasVersion ? ' AND w.version = s.version' : ''}`;
    // A temporary table has no statistics until analysed; the planner needs them for the joins.
    await this.session.runNative(`ANALYZE ${STAGE}`, []);
    const backedUp = await this.session.rowCount(
      `INSERT INTO ?? ${BACKUP_INSERT_COLUMNS}
       SELECT ?, s.uid, s.version, CAST(w.spec AS text), s.hash FROM ${STAGE} AS s JOIN ?? AS w ON ${on}`,
      [qualified(t.backups), t.runId, qualified(t.workflow)],
    );
    const updated = await this.session.rowCount(
      `UPDATE ?? AS w SET spec = CAST(s.spec AS ${cast}) FROM ${STAGE} AS s WHERE ${on}`,
      [qualified(t.workflow)],
    );
    return { backedUp, updated };
  }

  async closeStage(): Promise<void> {
    if (!this.session.lost) await this.session.runNative(`DROP TABLE IF EXISTS ${STAGE}`, []);
  }

  async updateSpecs(ref: TableRef, specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<WriteCount[]> {
    const cast = specCast(specType);
    const counts: WriteCount[] = [];
    for (const chunk of chunks(rows, ROWS_PER_UPDATE, (r) => r.spec?.length ?? 0)) {
      const values = chunk.map(() => (hasVersion ? '(?, ?, ?)' : '(?, ?)')).join(', ');
      const bindings = chunk.flatMap((r) => (hasVersion ? [r.uid, r.version, r.spec] : [r.uid, r.spec]));
      const changed = await this.session.query(
        `UPDATE ?? AS w SET spec = CAST(v.spec AS ${cast}) FROM (VALUES ${values}) AS v(uid, ${hasVersion ? 'version, ' : ''}spec)
         WHERE w.uid = v.uid${hasVersion ? ' AND w.version = v.version' : ''} RETURNING 1`,
        [qualified(ref), ...bindings],
      );
      counts.push({ given: chunk.length, written: changed.length });
    }
    return counts;
  }

  async freezeTables(refs: TableRef[]): Promise<void> {
    // Reads go on; inserts, updates and deletes wait for the end of the run (or --lock-timeout).
    await this.session.query(
      `LOCK TABLE ${refs.map(() => '??').join(', ')} IN SHARE ROW EXCLUSIVE MODE`,
      refs.map(qualified),
    );
  }

  /** A rename keeps rows, constraints, indexes and the owned sequence with its value. */
  async keepTables(tables: KeptTable[], guard: KeepGuard): Promise<{ kept: boolean; captured: string | null }> {
    if (!guard.accepts(await this.rowsOf(guard.ref))) return { kept: false, captured: null };
    for (const t of tables) await this.session.query('ALTER TABLE ?? RENAME TO ??', [qualified(t.original), t.kept]);
    return { kept: true, captured: null };
  }

  async restoreTables(tables: KeptTable[]): Promise<void> {
    for (const t of tables) {
      await this.session.query('ALTER TABLE ?? RENAME TO ??', [
        qualified({ schema: t.original.schema, table: t.kept }),
        t.original.table,
      ]);
    }
  }
}
