import type { Dialect } from '../config/db-url.js';
import type { TableRef } from '../dialect/adapter.js';
import { knexSql } from '../dialect/knex-sql.js';
import { defineBackupsTable, defineRunsTable } from '../dialect/own-tables.js';

/** The knex client that writes each database's SQL, and its settings (it only builds SQL here, never connects). */
const CLIENTS = {
  sqlite: ['better-sqlite3', { filename: ':memory:' }],
  postgres: ['pg', {}],
  mysql: ['mysql2', {}],
} as const;

/**
 * The tool's CREATE TABLE statements of its own tables, exactly as it runs them, each made to
 * create only a missing table (IF NOT EXISTS): a script may meet them there already.
 */
export async function ownTablesSql(dialect: Dialect, runs: TableRef, backups: TableRef): Promise<string[]> {
  const [client, connection] = CLIENTS[dialect];
  const sql = knexSql(client, connection);
  try {
    const out: string[] = [];
    for (const [ref, define] of [
      [runs, defineRunsTable],
      [backups, defineBackupsTable],
    ] as const) {
      const statements = await sql.schemaStatements((s) =>
        (ref.schema ? s.withSchema(ref.schema) : s).createTable(ref.table, define),
      );
      for (const { sql: text, bindings } of statements) {
        if (bindings.length > 0 || !/^create table /.test(text))
          throw new Error(`unexpected DDL of ${ref.table}: ${text}`);
        out.push(text.replace(/^create table /, 'create table if not exists '));
      }
    }
    return out;
  } finally {
    await sql.destroy();
  }
}
