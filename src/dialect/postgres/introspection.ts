import type { Introspection } from '../adapter.js';
import { qualified, type ColumnInfo, type ForeignKeyRef, type TableRef } from '../types.js';
import type { PostgresSession } from './session.js';

/** Column types that can hold the JSON of a spec. */
export const JSON_TYPES = ['json', 'jsonb', 'text', 'character varying'];

/**
 * What a key lookup needs to know of a table's indexes: the key columns, in order, of each index
 * that equality can probe, and the columns of a nondeterministic collation.
 */
export interface IndexInfo {
  leads: string[][];
  nondeterministic: string[];
}

/** PostgreSQL's catalog: information_schema for columns, pg_catalog for indexes, keys and rights. */
export class PostgresIntrospection implements Introspection {
  /** The indexes of each table whose columns were read, by `qualified(ref)`. */
  private readonly indexes = new Map<string, IndexInfo>();

  constructor(private readonly session: PostgresSession) {}

  /** The index facts learnt with a table's columns, if they were read. */
  indexInfoOf(ref: TableRef): IndexInfo | undefined {
    return this.indexes.get(qualified(ref));
  }

  async columns(ref: TableRef): Promise<ColumnInfo[] | null> {
    const schema = ref.schema ?? (await this.defaultSchema()) ?? 'public';
    const rows = await this.session.query<{ name: string; type: string }>(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns
       WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
      [schema, ref.table],
    );
    if (rows.length === 0) return null;
    this.indexes.set(qualified(ref), await this.readIndexInfo(schema, ref.table));
    return rows.map((r) => ({ name: r.name, type: r.type.toLowerCase() }));
  }

  /**
   * The key columns, in order, of each index of a table that equality can probe (btree or hash,
   * whole, valid; '' for an expression or a column indexed under another collation), and its
   * columns of a nondeterministic collation.
   */
  private async readIndexInfo(schema: string, table: string): Promise<IndexInfo> {
    const name = this.session.quote(qualified({ schema, table }));
    // to_jsonb(…) ->> reads columns that older versions lack (indnkeyatts: 11, collisdeterministic: 12) as null.
    const indexes = await this.session.query<{ cols: string[] }>(
      `SELECT ARRAY(SELECT CASE WHEN (i.indcollation::oid[])[k.o - 1] = a.attcollation THEN a.attname::text ELSE '' END
                    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                    WHERE k.o <= coalesce(CAST(to_jsonb(i) ->> 'indnkeyatts' AS int), i.indnatts)
                    ORDER BY k.o) AS cols
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
       WHERE i.indrelid = to_regclass(?) AND i.indisvalid AND i.indpred IS NULL AND am.amname IN ('btree', 'hash')`,
      [name],
    );
    const collated = await this.session.query<{ name: string }>(
      `SELECT a.attname::text AS name FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
       WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND to_jsonb(c) ->> 'collisdeterministic' = 'false'`,
      [name],
    );
    return { leads: indexes.map((r) => r.cols), nondeterministic: collated.map((r) => r.name) };
  }

  isJsonCapable(type: string): boolean {
    return JSON_TYPES.includes(type);
  }

  keepsJsonText(type: string): boolean {
    return type !== 'jsonb'; // json and text keep the input text; jsonb re-serialises it
  }

  async defaultSchema(): Promise<string | undefined> {
    const [row] = await this.session.query<{ s: string | null }>('SELECT current_schema() AS s');
    return row?.s ?? undefined;
  }

  async notes(): Promise<string[]> {
    const [row] = await this.session.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return [`PostgreSQL ${row?.v}`];
  }

  async writeProblems(refs: TableRef[]): Promise<string[]> {
    const problems: string[] = [];
    const [ro] = await this.session.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
    if (ro?.transaction_read_only === 'on')
      problems.push('the server only accepts read-only transactions (a standby?)');
    for (const ref of refs) {
      const [row] = await this.session.query<{ ok: boolean }>('SELECT has_table_privilege(?, ?) AS ok', [
        this.session.quote(qualified({ schema: ref.schema ?? (await this.defaultSchema()), table: ref.table })),
        'UPDATE',
      ]);
      if (!row?.ok) problems.push(`the database user may not UPDATE ${qualified(ref)}`);
    }
    return problems;
  }

  async foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]> {
    const name = this.session.quote(
      qualified({ schema: ref.schema ?? (await this.defaultSchema()), table: ref.table }),
    );
    return this.session.query<ForeignKeyRef>(
      `SELECT c.conrelid::regclass::text AS "table", c.conname AS "constraint" FROM pg_constraint c
       WHERE c.contype = 'f' AND c.confrelid = to_regclass(?) ORDER BY 1, 2`,
      [name],
    );
  }
}
