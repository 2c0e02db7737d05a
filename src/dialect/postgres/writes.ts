import { ToolError } from '../../errors.js';
import type { BulkWrites } from '../adapter.js';
import { BACKUP_INSERT_COLUMNS, BaseWrites, STAGE_ROWS_PER_INSERT, stageColumnsOf } from '../base-writes.js';
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
import { JSON_TYPES } from './introspection.js';
import type { PostgresSession } from './session.js';

const ROWS_PER_UPDATE = 1000;
const STAGE = `pg_temp.${STAGE_TABLE}`;

/** The cast that turns text into a spec column's type; refuses a type the tool cannot write JSON into. */
export function specCast(specType: string): string {
  if (!JSON_TYPES.includes(specType)) throw new ToolError(`unsupported spec column type ${specType}`);
  return specType === 'character varying' ? 'text' : specType;
}

/** PostgreSQL's writes: set-based, in the transaction; renames keep everything a table owns. */
export class PostgresWrites extends BaseWrites<PostgresSession> implements BulkWrites {
  constructor(session: PostgresSession) {
    super(session);
  }

  /** The run's stage: where its backups go, and the original specs saved so far. */
  private target: { backups: string; runId: string; backedUp: number | null } | undefined;

  async openStage(t: StageTarget): Promise<void> {
    await this.session.runNative(`DROP TABLE IF EXISTS ${STAGE}`, []);
    await this.session.runNative(`CREATE TEMP TABLE ${STAGE_TABLE} (${stageColumnsOf('text')}) ON COMMIT DROP`, []);
    this.target = { backups: this.session.quote(qualified(t.backups)), runId: t.runId, backedUp: 0 };
  }

  /**
   * Stages the specs and saves the original ones into the backups table in the same statement,
   * while the run plans the next batches: the server has time then, and none is left for the
   * writing that waits for the plan. The originals are the texts the run read under its row
   * locks (`CAST(spec AS text)`), so the workflow rows still hold them. The SQL is written with
   * the driver's own placeholders: thousands of values per statement, no knex compiling.
   */
  async stage(rows: StagedSpec[]): Promise<void> {
    const target = this.target;
    if (!target) throw new Error('stage() before openStage()');
    const size = (r: StagedSpec) => r.spec.length + (r.original?.length ?? 0) + r.uid.length + r.hash.length + 48;
    for (const chunk of chunks(rows, STAGE_ROWS_PER_INSERT, size, this.session.statementChars)) {
      const values: unknown[] = [target.runId];
      const tuples = chunk.map((r) => {
        const n = values.push(r.uid, r.version, r.spec, r.hash, r.original);
        return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
      });
      const saved = await this.session.rowCountNative(
        `WITH v (uid, version, spec, hash, original) AS (VALUES ${tuples.join(', ')}),
         s AS (INSERT INTO ${STAGE} (${STAGE_COLUMNS.join(', ')}) SELECT uid, version, spec, hash FROM v)
         INSERT INTO ${target.backups} ${BACKUP_INSERT_COLUMNS} SELECT $1, uid, version, original, hash FROM v`,
        values,
      );
      target.backedUp = saved === null || target.backedUp === null ? null : target.backedUp + saved;
    }
  }

  async writeStage(t: StageTarget): Promise<StageCounts> {
    const cast = specCast(t.specType);
    const on = `w.uid = s.uid${t.hasVersion ? ' AND w.version = s.version' : ''}`;
    // A temporary table has no statistics until analysed; the planner needs them for the join
    // (of the key columns only: sampling the specs would cost more than the estimate gains).
    await this.session.runNative(`ANALYZE ${STAGE} (uid, version)`, []);
    const updated = await this.session.rowCount(
      `UPDATE ?? AS w SET spec = CAST(s.spec AS ${cast}) FROM ${STAGE} AS s WHERE ${on}`,
      [qualified(t.workflow)],
    );
    return { backedUp: this.target?.backedUp ?? null, updated };
  }

  async closeStage(): Promise<void> {
    this.target = undefined;
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
