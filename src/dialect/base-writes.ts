import type { Knex } from 'knex';
import type { BaseSession } from './base-session.js';
import { BACKUP_COLUMNS, STAGE_COLUMNS } from './own-tables.js';
import { chunks } from './sql.js';
import { qualified, type StagedSpec, type TableRef } from './types.js';

/** Staged rows per INSERT (four values each; the statement also stays under about 4 MB). */
export const STAGE_ROWS_PER_INSERT = 1000;
/** The column list of an INSERT into the backups table, in the order of {@link BACKUP_COLUMNS}. */
export const BACKUP_INSERT_COLUMNS = `(${BACKUP_COLUMNS.join(', ')})`;

/** The stage's column definitions where every column is of one text type, e.g. `uid TEXT NOT NULL, …`. */
export function stageColumnsOf(type: string): string {
  return STAGE_COLUMNS.map((c) => `${c} ${type} NOT NULL`).join(', ');
}

/** The writes every dialect does alike: staged rows in multi-row inserts, the tool's DDL, row counts. */
export abstract class BaseWrites<S extends BaseSession> {
  protected constructor(protected readonly session: S) {}

  /**
   * Inserts staged specs into the stage table (named as this dialect reaches it), in multi-row
   * chunks, each sent by `send` (by default as a query).
   */
  protected async insertStaged(
    table: string,
    rows: StagedSpec[],
    send: (sql: string, values: unknown[]) => Promise<unknown> = (sql, values) => this.session.query(sql, values),
  ): Promise<void> {
    // Each row's values and its share of the SQL text count, not its spec alone.
    const size = (r: StagedSpec) => r.spec.length + r.uid.length + r.version.length + r.hash.length + 32;
    for (const chunk of chunks(rows, STAGE_ROWS_PER_INSERT, size, this.session.statementChars)) {
      await send(
        `INSERT INTO ${table} (${STAGE_COLUMNS.join(', ')}) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((r) => [r.uid, r.version, r.spec, r.hash]),
      );
    }
  }

  /** The rows a table holds now. */
  protected async rowsOf(ref: TableRef): Promise<number> {
    const [count] = await this.session.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM ??', [qualified(ref)]);
    return Number(count?.n);
  }

  async dropTable(ref: TableRef): Promise<void> {
    await this.session.runSchema((schema) => within(schema, ref).dropTableIfExists(ref.table));
  }

  async createTable(ref: TableRef, build: (t: Knex.CreateTableBuilder) => void): Promise<void> {
    await this.session.runSchema((schema) => within(schema, ref).createTable(ref.table, build));
  }
}

/** The schema builder in the table's schema, where it names one. */
function within(schema: Knex.SchemaBuilder, ref: TableRef): Knex.SchemaBuilder {
  return ref.schema ? schema.withSchema(ref.schema) : schema;
}
