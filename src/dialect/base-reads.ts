import type { ReadSql } from './adapter.js';
import { qualified, type ColumnInfo, type SelectItem, type Statement, type TableRef } from './types.js';

/** The reads every dialect renders alike: select lists, and key lookups by `IN` lists. */
export abstract class BaseReads implements ReadSql {
  abstract asText(column: string): string;
  abstract asJsonText(column: string): string;
  asJsonBytes?(column: string): string;

  selectList(items: SelectItem[]): Statement {
    return {
      template: items.map((item) => `${this.expression(item)} AS ??`).join(', '),
      bindings: items.map((item) => item.as),
    };
  }

  private expression(item: SelectItem): string {
    if (item.column === null) return "''";
    if (item.read === 'text') return this.asText(item.column);
    if (item.read === 'json') return this.asJsonText(item.column);
    if (!this.asJsonBytes) throw new Error('JSON bytes are read on SQLite only');
    return this.asJsonBytes(item.column);
  }

  /** `IN (…)` lists of each key column's distinct values, which may match a few more rows than the keys. */
  keyLookup(select: SelectItem[], table: TableRef, columns: ColumnInfo[], keys: string[][], lock: boolean): Statement {
    const list = this.selectList(select);
    const values = columns.map((_, i) => [...new Set(keys.map((k) => k[i] as string))]);
    const where = columns.map(() => '?? IN (?)').join(' AND ');
    return {
      template: `SELECT ${list.template} FROM ?? WHERE ${where}${lock ? ' FOR UPDATE' : ''}`,
      bindings: [...list.bindings, qualified(table), ...columns.flatMap((c, i) => [c.name, values[i]])],
    };
  }
}
