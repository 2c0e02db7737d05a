// A stand-in for the controller writing while a migration runs: it edits another key of workflow
// specs (an atomic UPDATE, as the controller's ORM flushes one) and inserts new step rows.
// Usage: node writer.mjs DIALECT URL SECONDS WORKFLOWS — prints {"touched": [...], "inserted": [...]}.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';

const [dialect, url, seconds, workflows] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;
const touched = new Set();
const inserted = [];
const pad = (n) => String(n).padStart(8, '0');

const edit = {
  sqlite: `UPDATE workflow SET spec = replace(spec, '"branch": "main"', '"branch": "edited"') WHERE uid = ? AND version = '1'`,
  postgres:
    `UPDATE workflow SET spec = CAST(replace(CAST(spec AS text), '"branch": "main"', '"branch": "edited"') AS json) ` +
    `WHERE uid = $1 AND version = '1'`,
  mysql: `UPDATE workflow SET spec = REPLACE(spec, '"branch": "main"', '"branch": "edited"') WHERE uid = ? AND version = '1'`,
}[dialect];
const INSERT_STEP = 'INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec)';
const insertSql = {
  sqlite: `${INSERT_STEP} VALUES ('p1', ?, '1', ?, ?, '2030-01-01 00:00:00.000001', '{"step_name": "Late", "kwargs": {}}')`,
  postgres: `${INSERT_STEP} VALUES ('p1', $1, '1', $2, $3, '2030-01-01 00:00:00.000001', '{"step_name": "Late", "kwargs": {}}')`,
  mysql: `${INSERT_STEP} VALUES ('p1', ?, '1', ?, ?, '2030-01-01 00:00:00', '{"step_name": "Late", "kwargs": {}}')`,
}[dialect];

let run;
let close;
if (dialect === 'sqlite') {
  const db = new Database(url, { timeout: 60_000 });
  db.pragma('foreign_keys = OFF'); // as the controller's connections run
  run = async (sql, args) => db.prepare(sql).run(...args);
  close = async () => db.close();
} else if (dialect === 'postgres') {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Where the database defaults to REPEATABLE READ, a statement that meets a row the migration
  // changed fails with a serialization error, and an application retries it.
  run = async (sql, args) => {
    for (;;) {
      try {
        return await client.query(sql, args);
      } catch (e) {
        if (e.code !== '40001') throw e;
      }
    }
  };
  close = () => client.end();
} else {
  const connection = await mysql.createConnection(url);
  await connection.query('SET SESSION innodb_lock_wait_timeout = 60');
  run = (sql, args) => connection.query(sql, args);
  close = () => connection.end();
}

for (let n = 0; Date.now() < deadline; n++) {
  const uid = `wf-${pad(Math.floor(Math.random() * Number(workflows)))}`;
  await run(edit, [uid]);
  touched.add(uid);
  if (n % 5 === 0) {
    await run(insertSql, [uid, `sc-late-${n}`, `late-${n}`]);
    inserted.push({ uid: `sc-late-${n}`, name: `late-${n}`, workflow: uid });
  }
  await new Promise((r) => setTimeout(r, 5));
}
await close();
process.stdout.write(JSON.stringify({ touched: [...touched], inserted }));
