import { BaseReads } from '../base-reads.js';
import type { ColumnInfo, SelectItem, Statement, TableRef } from '../types.js';
import { qualified } from '../types.js';
import type { PostgresIntrospection } from './introspection.js';
import type { PostgresSession } from './session.js';

/** Key column types compared with text through their indexes (`character` is not: it would be cast). */
const TEXT_TYPES = ['text', 'character varying'];

/** PostgreSQL's reads: casts to text, and key lookups that probe an index per key. */
export class PostgresReads extends BaseReads {
  constructor(
    private readonly session: PostgresSession,
    private readonly introspection: PostgresIntrospection,
  ) {
    super();
  }

  asText(column: string): string {
    return `CAST(${this.session.quote(column)} AS TEXT)`;
  }

  asJsonText(column: string): string {
    return this.asText(column);
  }

  /**
   * One index probe per key, whatever the table's statistics say: the keys (one JSON text) joined
   * LATERAL with the table. With `IN (…)` lists of a batch's keys, the planner of a table that has
   * no statistics (autovacuum off, or just restored by pg_restore, which does not analyze) scanned
   * the whole table for every batch: time grew with the square of the rows. `OFFSET 0` keeps the
   * subquery from being merged into a hash join. `IN` lists stay where a probe would not be an
   * index probe (no index leads with the key columns, or they are not text: one scan per key), or
   * could find a row twice (a nondeterministic collation holds two keys equal).
   */
  override keyLookup(
    select: SelectItem[],
    table: TableRef,
    columns: ColumnInfo[],
    keys: string[][],
    lock: boolean,
  ): Statement {
    if (!this.canProbe(table, columns)) return super.keyLookup(select, table, columns, keys, lock);
    const list = this.selectList(select);
    const unique = [...new Map(keys.map((k) => [JSON.stringify(k), k])).values()];
    return {
      template: `SELECT s.* FROM (SELECT ${columns.map((_, i) => `e ->> ${i} AS k${i}`).join(', ')}
                                 FROM json_array_elements(CAST(? AS json)) AS e) AS k
                 CROSS JOIN LATERAL (SELECT ${list.template} FROM ?? WHERE ${columns.map((_, i) => `?? = k.k${i}`).join(' AND ')}
                                     OFFSET 0${lock ? ' FOR UPDATE' : ''}) AS s`,
      bindings: [JSON.stringify(unique), ...list.bindings, qualified(table), ...columns.map((c) => c.name)],
    };
  }

  /** Whether `keyLookup` can probe an index per key (see there), from what `columns` learnt of the table. */
  private canProbe(table: TableRef, columns: ColumnInfo[]): boolean {
    const info = this.introspection.indexInfoOf(table);
    if (!info || !columns.every((c) => TEXT_TYPES.includes(c.type) && !info.nondeterministic.includes(c.name)))
      return false;
    const names = columns.map((c) => c.name);
    return info.leads.some(
      (lead) => lead.length >= names.length && names.every((n) => lead.slice(0, names.length).includes(n)),
    );
  }
}
