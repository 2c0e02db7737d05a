import knexFactory, { type Knex } from 'knex';
import type { SqlForm } from './sql.js';

/** SQL as knex writes it for a dialect; the knex instance only builds SQL, it never connects. */
export function knexSql(
  client: 'better-sqlite3' | 'pg' | 'mysql2',
  connection: Knex.StaticConnectionConfig | object,
): SqlForm {
  const knex = knexFactory({ client, connection, useNullAsDefault: true, pool: { min: 0, max: 1 } });
  return {
    compile: (template, bindings) => {
      const native = knex
        .raw(template, bindings as Knex.RawBinding[])
        .toSQL()
        .toNative();
      return { sql: native.sql, bindings: [...native.bindings] };
    },
    quote: (identifier) => knex.raw('??', [identifier]).toQuery(),
    // A schema builder is never awaited: it would run itself on knex's own (absent) connection.
    schemaStatements: async (build) =>
      build(knex.schema)
        .toSQL()
        .map((statement) => ({ sql: statement.sql, bindings: [...(statement.bindings ?? [])] })),
    destroy: () => knex.destroy(),
  };
}
