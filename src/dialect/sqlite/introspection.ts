import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import type { Introspection } from '../adapter.js';
import { qualified, type ColumnInfo, type ForeignKeyRef, type TableRef } from '../types.js';
import type { SqliteSession } from './session.js';

/** SQLite's tables as its pragmas report them; one schema, `main`. */
export class SqliteIntrospection implements Introspection {
  constructor(private readonly session: SqliteSession) {}

  async columns(ref: TableRef): Promise<ColumnInfo[] | null> {
    const rows = await this.session.query<{ name: string; type: string }>(
      'SELECT name, type FROM pragma_table_info(?, ?)',
      [ref.table, ref.schema ?? 'main'],
    );
    return rows.length === 0 ? null : rows.map((r) => ({ name: r.name, type: r.type.toLowerCase() }));
  }

  isJsonCapable(type: string): boolean {
    return ['', 'json', 'text', 'clob'].includes(type) || /char/.test(type);
  }

  /** SQLite stores the text it is given, whatever the column's declared type. */
  keepsJsonText(_type: string): boolean {
    return true;
  }

  async defaultSchema(): Promise<string | undefined> {
    return undefined;
  }

  async notes(): Promise<string[]> {
    const version = this.session.db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
    return [
      `SQLite ${version.v}, file ${this.session.file}`,
      'foreign keys are not enforced (as the controller runs SQLite): dangling workflow_id values are reported as orphans',
    ];
  }

  /**
   * SQLite keeps a BLOB in a text column as it came, and a BLOB never equals a text: no workflow
   * uid matches such a `workflow_id`, in the controller's queries as in the tool's. BLOBs sort
   * after every text, so along the `workflow_id` index this reads only them.
   */
  async unmatchableIds(step: TableRef): Promise<string | undefined> {
    const [found] = await this.session.query<{ n: number; uid: string | null }>(
      "SELECT count(*) AS n, min(CAST(uid AS TEXT)) AS uid FROM ?? WHERE workflow_id >= X''",
      [qualified(step)],
    );
    if (!found || found.n === 0) return undefined;
    return (
      `${found.n} row(s) of ${step.table} hold a workflow_id stored as bytes (a BLOB; uid ${JSON.stringify(found.uid)}, for one), ` +
      `which equals no workflow uid; make them text first: UPDATE ${step.table} SET workflow_id = ` +
      "CAST(workflow_id AS TEXT) WHERE typeof(workflow_id) = 'blob'"
    );
  }

  async writeProblems(): Promise<string[]> {
    const problems: string[] = [];
    for (const [path, what] of [
      [this.session.file, 'the database file'],
      [dirname(this.session.file), 'its directory (SQLite writes a journal beside it)'],
    ] as const) {
      try {
        accessSync(path, constants.W_OK);
      } catch {
        problems.push(`${what} is not writable: ${path}`);
      }
    }
    return problems;
  }

  async foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]> {
    const tables = await this.session.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
    const found: ForeignKeyRef[] = [];
    for (const { name } of tables) {
      const keys = await this.session.query<{ target: string; id: number }>(
        'SELECT DISTINCT "table" AS target, id FROM pragma_foreign_key_list(?)',
        [name],
      );
      for (const key of keys) {
        if (key.target.toLowerCase() === ref.table.toLowerCase())
          found.push({ table: name, constraint: `foreign key #${key.id}` });
      }
    }
    return found;
  }
}
