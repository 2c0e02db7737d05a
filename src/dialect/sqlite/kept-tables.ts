import { ToolError } from '../../errors.js';
import type { KeptTable } from '../types.js';
import type { SqliteSession } from './session.js';

/** What SQLite needs to recreate a kept table exactly: its CREATE texts and AUTOINCREMENT counter. */
interface CapturedTable {
  name: string;
  table: string[];
  indexes: string[];
  sequence: number | null;
}

/** The original DDL and AUTOINCREMENT counter of each table, as the text the run record keeps. */
export async function captureTables(
  session: SqliteSession,
  tables: KeptTable[],
  hasSequence: boolean,
): Promise<string> {
  const captured: CapturedTable[] = [];
  for (const t of tables) {
    const ddl = await session.query<{ type: string; sql: string }>(
      'SELECT type, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid',
      [t.original.table],
    );
    if (!ddl.some((d) => d.type === 'table'))
      throw new ToolError(`cannot read the definition of ${t.original.table}; nothing was dropped`);
    const [sequence] = hasSequence
      ? await session.query<{ seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?', [t.original.table])
      : [];
    captured.push({
      name: t.original.table,
      table: ddl.filter((d) => d.type === 'table').map((d) => d.sql),
      indexes: ddl.filter((d) => d.type !== 'table').map((d) => d.sql),
      sequence: sequence?.seq ?? null,
    });
  }
  return JSON.stringify(captured);
}

/** Recreates kept tables under their original names from the captured DDL, rows and counter included. */
export function recreateTables(session: SqliteSession, tables: KeptTable[], captured: string | null): void {
  const all = JSON.parse(captured ?? '[]') as CapturedTable[];
  const ddl = tables.map((t) => all.find((c) => c.name === t.original.table));
  if (ddl.some((d) => d === undefined)) throw new ToolError('the run record holds no DDL to restore these tables with');
  // Tables first (their index names are still taken by the kept tables), rows in rowid order.
  tables.forEach((t, i) => {
    for (const sql of ddl[i]!.table) session.exec(sql);
    session.exec(
      `INSERT INTO ${session.quote(t.original.table)} SELECT * FROM ${session.quote(t.kept)} ORDER BY rowid`,
    );
  });
  for (const t of tables) session.exec(`DROP TABLE ${session.quote(t.kept)}`);
  tables.forEach((t, i) => {
    for (const sql of ddl[i]!.indexes) session.exec(sql);
    const seq = ddl[i]!.sequence;
    if (seq !== null) {
      session.statement('DELETE FROM sqlite_sequence WHERE name = ?').run(t.original.table);
      session
        .statement('INSERT INTO sqlite_sequence (name, seq) VALUES (?, CAST(? AS INTEGER))')
        .run(t.original.table, seq);
    }
  });
}
