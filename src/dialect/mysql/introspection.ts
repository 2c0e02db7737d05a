import { ToolError } from '../../errors.js';
import type { Introspection } from '../adapter.js';
import type { ColumnInfo, ForeignKeyRef, TableRef } from '../types.js';
import type { MysqlSession } from './session.js';

/** MariaDB stores JSON as LONGTEXT with a JSON_VALID check; MySQL has a native type. */
const JSON_TYPES = ['json', 'longtext', 'mediumtext', 'text', 'varchar'];

/** The server's version text, and whether it is MariaDB. */
export async function serverOf(session: MysqlSession): Promise<{ version: string; mariadb: boolean }> {
  const [row] = await session.query<{ v: string }>('SELECT VERSION() AS v');
  const version = row?.v ?? '';
  return { version, mariadb: /mariadb/i.test(version) };
}

/** MySQL's and MariaDB's information_schema; a schema is a database here. */
export class MysqlIntrospection implements Introspection {
  constructor(private readonly session: MysqlSession) {}

  async columns(ref: TableRef): Promise<ColumnInfo[] | null> {
    const rows = await this.session.query<{ name: string; type: string }>(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [ref.schema ?? (await this.defaultSchema()), ref.table],
    );
    return rows.length === 0 ? null : rows.map((r) => ({ name: r.name, type: String(r.type).toLowerCase() }));
  }

  isJsonCapable(type: string): boolean {
    return JSON_TYPES.includes(type);
  }

  keepsJsonText(type: string): boolean {
    return type !== 'json'; // MariaDB's JSON is LONGTEXT; MySQL's JSON is stored binary and re-serialised
  }

  async defaultSchema(): Promise<string | undefined> {
    const [row] = await this.session.query<{ s: string | null }>('SELECT DATABASE() AS s');
    if (!row?.s) throw new ToolError('the database URL names no database (mysql://user@host/DATABASE)');
    return row.s;
  }

  async notes(): Promise<string[]> {
    const { version, mariadb } = await serverOf(this.session);
    return [
      `${mariadb ? 'MariaDB' : 'MySQL'} ${version}`,
      'DDL commits implicitly here: the tool creates its own table before the fold transaction',
    ];
  }

  async writeProblems(): Promise<string[]> {
    const [row] = await this.session.query<{ ro: number | string }>('SELECT @@read_only AS ro');
    return Number(row?.ro) === 1 ? ['the server is read-only (read_only=ON)'] : [];
  }

  async foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]> {
    return this.session.query<ForeignKeyRef>(
      `SELECT DISTINCT TABLE_NAME AS \`table\`, CONSTRAINT_NAME AS \`constraint\` FROM information_schema.KEY_COLUMN_USAGE
       WHERE REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ? ORDER BY 1, 2`,
      [ref.schema ?? (await this.defaultSchema()), ref.table],
    );
  }
}
