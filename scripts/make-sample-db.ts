/** Builds fixtures/sample.db (SQLite) from fixtures/schema/sqlite.sql and fixtures/datasets/sample.json. */
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import knexFactory from 'knex';
import { datasetRows, fixturePath, schemaStatements } from '../test/support/datasets.js';

const file = fixturePath('sample.db');
for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });

// knex only builds the INSERTs (identifiers quoted by knex); better-sqlite3 runs them.
const sql = knexFactory({ client: 'better-sqlite3', useNullAsDefault: true });
const db = new Database(file);
db.pragma('foreign_keys = OFF'); // as the controller (Python sqlite3) runs: the models' FKs to *.uid are not enforceable
db.transaction(() => {
  for (const statement of schemaStatements('sqlite')) db.exec(statement);
  for (const [table, rows] of Object.entries(datasetRows('sample', 'sqlite'))) {
    for (const row of rows) {
      const insert = sql(table).insert(row).toSQL();
      db.prepare(insert.sql).run(...insert.bindings);
    }
  }
})();
db.close();
await sql.destroy();
console.log(`wrote ${file}`);
