/**
 * The databases the benchmark runs on: for each dialect, how to build a template database of a given
 * size, how to make a fresh exact copy of it for every measurement, the URL the tool gets for a copy,
 * and a plain driver session (better-sqlite3, pg, mysql2: the libraries the tool uses) for the floors
 * and the verification.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  createTestDatabase,
  isReachable,
  serverUrl,
  type Dialect,
  type TestDatabase,
} from '../../test/support/databases.js';
import { generateDatabase } from '../../test/support/generate.js';
import { onInterrupt, track } from './cleanup.js';

type ServerDialect = Exclude<Dialect, 'sqlite'>;

/** A generated database that copies are made from. */
export interface Template {
  dialect: Dialect;
  steps: number;
  db: TestDatabase;
  /** Seconds the generation took (schema and rows, plus VACUUM ANALYZE on PostgreSQL). */
  seconds: number;
  /** MariaDB: the CREATE TABLE text of each table, in the template's order. */
  mysqlTables?: Array<{ table: string; create: string }>;
  drop(): Promise<void>;
}

/** A fresh copy of a template, for one measurement. */
export interface Copy {
  dialect: Dialect;
  /** Database name (the file path on SQLite). */
  name: string;
  /** What the tool gets as --db. */
  url: string;
  drop(): Promise<void>;
}

/** A driver session on a copy; statements run one at a time, as given. */
export interface Session {
  run(sql: string): Promise<void>;
  rows<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** Names of everything the benchmark creates on a server (or as a file): unique per process and call. */
export function uniqueName(): string {
  return `stepcfg_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** The server's URL pointing at another database. */
function urlFor(dialect: ServerDialect, database: string): string {
  const u = new URL(serverUrl(dialect));
  u.pathname = `/${database}`;
  return u.toString();
}

/** mysql2 options for the MariaDB server (no database unless given). */
function mysqlOptions(database?: string): mysql.ConnectionOptions {
  const u = new URL(serverUrl('mysql'));
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
}

async function pgServer(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: serverUrl('postgres') });
  await client.connect();
  return client;
}

/** Runs fn on a short-lived connection to the server (no particular database). */
async function withServer<T>(
  dialect: ServerDialect,
  fn: (query: (sql: string, params?: unknown[]) => Promise<unknown[]>) => Promise<T>,
): Promise<T> {
  if (dialect === 'postgres') {
    const client = await pgServer();
    try {
      return await fn(async (sql, params) => (await client.query(sql, params)).rows);
    } finally {
      await client.end();
    }
  }
  const conn = await mysql.createConnection(mysqlOptions());
  try {
    return await fn(async (sql, params) => (await conn.query(sql, params))[0] as unknown[]);
  } finally {
    await conn.end();
  }
}

const quote = (dialect: Dialect, name: string): string => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** Drops a server database, ending any session still on it (a tool that was stopped, a floor mid-statement). */
async function dropServerDatabase(dialect: ServerDialect, name: string): Promise<void> {
  await withServer(dialect, async (query) => {
    if (dialect === 'postgres') {
      await query(`DROP DATABASE IF EXISTS ${quote(dialect, name)} WITH (FORCE)`);
      return;
    }
    await killSessions(query, [name]);
    await query(`DROP DATABASE IF EXISTS ${quote(dialect, name)}`);
  });
}

/** MariaDB: ends every session whose current database is one of these. */
async function killSessions(
  query: (sql: string, params?: unknown[]) => Promise<unknown[]>,
  databases: string[],
): Promise<void> {
  if (databases.length === 0) return;
  const sessions = (await query(
    'SELECT id FROM information_schema.processlist WHERE db IN (?) AND id <> CONNECTION_ID()',
    [databases],
  )) as Array<{ id: number | string }>;
  for (const { id } of sessions) await query(`KILL ${Number(id)}`).catch(() => undefined);
}

/** Server databases of this run, so that a signal can end their sessions at once. */
const liveDatabases: Record<ServerDialect, Set<string>> = { postgres: new Set(), mysql: new Set() };
onInterrupt(async () => {
  for (const dialect of ['postgres', 'mysql'] as const) {
    const names = [...liveDatabases[dialect]];
    if (names.length === 0) continue;
    await withServer(dialect, async (query) => {
      if (dialect === 'postgres') {
        await query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
          [names],
        );
      } else {
        await killSessions(query, names);
      }
    }).catch(() => undefined);
  }
});

/** Generates the template of a size (schema plus `generateDatabase`), registered for removal. */
export function generateTemplate(dialect: Dialect, steps: number): Promise<Template> {
  return makeTemplate(dialect, steps, (db) => generateDatabase(db, steps));
}

/** A template filled by `fill` (which loads the schema too), registered for removal. */
export async function makeTemplate(
  dialect: Dialect,
  steps: number,
  fill: (db: TestDatabase) => Promise<void>,
): Promise<Template> {
  const db = await createTestDatabase(dialect);
  if (dialect !== 'sqlite') liveDatabases[dialect].add(db.name);
  const drop = track({
    describe: dialect === 'sqlite' ? `file ${db.url}` : `${dialect} database ${db.name}`,
    remove: async () => {
      await db.drop();
      if (dialect !== 'sqlite') liveDatabases[dialect].delete(db.name);
    },
  });
  const started = performance.now();
  await fill(db);
  // PostgreSQL: statistics and visibility map as autovacuum would leave them, copied into every copy
  // (and no autovacuum worker on the template to block CREATE DATABASE … TEMPLATE later).
  if (dialect === 'postgres') await db.knex().raw('VACUUM ANALYZE');
  const seconds = (performance.now() - started) / 1000;
  let mysqlTables: Template['mysqlTables'];
  if (dialect === 'mysql') {
    mysqlTables = [];
    const [tables] = (await db
      .knex()
      .raw(
        'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = database() ' +
          "AND table_type = 'BASE TABLE' ORDER BY table_name",
      )) as [Array<{ t: string }>];
    for (const { t } of tables) {
      const [[row]] = (await db.knex().raw('SHOW CREATE TABLE ??', [t])) as [Array<Record<string, string>>];
      mysqlTables.push({ table: t, create: row!['Create Table']! });
    }
  }
  // No connection may stay on a PostgreSQL template; the SQLite file must be complete on disk.
  await db.knex().destroy();
  return { dialect, steps, db, seconds, mysqlTables, drop };
}

/** A fresh copy of the template in the benchmark's directory (SQLite) or on the server. */
export async function copyTemplate(template: Template, dir: string): Promise<Copy> {
  const name = uniqueName();
  if (template.dialect === 'sqlite') {
    const file = path.join(dir, `${name}.db`);
    const drop = track({
      describe: `file ${file}`,
      remove: () => {
        for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
      },
    });
    copyFileSync(template.db.url, file);
    return { dialect: 'sqlite', name: file, url: file, drop };
  }
  const dialect = template.dialect;
  liveDatabases[dialect].add(name);
  const drop = track({
    describe: `${dialect} database ${name}`,
    remove: async () => {
      await dropServerDatabase(dialect, name);
      liveDatabases[dialect].delete(name);
    },
  });
  if (dialect === 'postgres') await copyPostgres(template.db.name, name);
  else await copyMysql(template, name);
  return { dialect, name, url: urlFor(dialect, name), drop };
}

/** CREATE DATABASE … TEMPLATE: a file-level copy. Retried while a session (autovacuum) is still on the template. */
async function copyPostgres(template: string, name: string): Promise<void> {
  await withServer('postgres', async (query) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt === 40) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  });
}

/**
 * MariaDB has no database template: the template's own `SHOW CREATE TABLE` text is run in the new
 * database (columns, keys, foreign keys, checks, AUTO_INCREMENT counter: exactly as in the template;
 * `CREATE TABLE … LIKE` would lose the foreign keys), then `INSERT … SELECT` copies the rows, on a
 * session with foreign-key and unique checks off (the rows are the template's, already valid).
 */
async function copyMysql(template: Template, name: string): Promise<void> {
  await withServer('mysql', (query) => query(`CREATE DATABASE \`${name}\``));
  const conn = await mysql.createConnection(mysqlOptions(name)); // current database = the copy: a signal's KILL finds it
  try {
    await conn.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
    for (const { table, create } of template.mysqlTables ?? []) {
      await conn.query(create);
      await conn.query(`INSERT INTO \`${table}\` SELECT * FROM \`${template.db.name}\`.\`${table}\``);
    }
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** A driver session on a copy: better-sqlite3 (foreign keys off, as the controller and the tool run), pg, mysql2. */
export async function openSession(copy: Copy): Promise<Session> {
  if (copy.dialect === 'sqlite') {
    const db = new Database(copy.url);
    db.pragma('foreign_keys = OFF');
    return {
      run: async (sql) => void db.exec(sql),
      rows: async <T>(sql: string) => db.prepare(sql).all() as T[],
      close: async () => void db.close(),
    };
  }
  if (copy.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: copy.url });
    client.on('error', () => undefined); // a session ended by a signal's cleanup: the awaited query fails instead
    await client.connect();
    return {
      run: async (sql) => void (await client.query(sql)),
      rows: async <T>(sql: string) => (await client.query(sql)).rows as T[],
      close: () => client.end(),
    };
  }
  const conn = await mysql.createConnection(mysqlOptions(copy.name));
  conn.on('error', () => undefined);
  await conn.query('SET SESSION group_concat_max_len = 4294967295'); // JSON_ARRAYAGG is cut at this length
  return {
    run: async (sql) => void (await conn.query(sql)),
    rows: async <T>(sql: string) => (await conn.query(sql))[0] as T[],
    close: () => conn.end(),
  };
}

/** "SQLite 3.53.2", "PostgreSQL 15.20 (…)", "MariaDB 10.11.19-…". */
export async function serverVersion(dialect: Dialect): Promise<string> {
  if (dialect === 'sqlite') {
    const db = new Database(':memory:');
    try {
      return `SQLite ${(db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v} (better-sqlite3)`;
    } finally {
      db.close();
    }
  }
  return withServer(dialect, async (query) => {
    if (dialect === 'postgres')
      return `PostgreSQL ${((await query('SHOW server_version')) as Array<{ server_version: string }>)[0]!.server_version}`;
    const version = ((await query('SELECT VERSION() AS v')) as Array<{ v: string }>)[0]!.v;
    return /mariadb/i.test(version) ? `MariaDB ${version}` : `MySQL ${version}`;
  });
}

/** The tool's --db URL of a copy, without a password, for messages. */
export function describeCopy(copy: Copy): string {
  if (copy.dialect === 'sqlite') return copy.url;
  const u = new URL(copy.url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** The benchmark's private directory under the temp dir (SQLite copies, reports, orphans files), removed at the end. */
export function makeWorkDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `stepcfg_bench_${process.pid}_`));
  track({ describe: `directory ${dir}`, remove: () => rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

/** The databases asked for whose server answers; each other one is skipped with a notice. */
export async function reachableDatabases(wanted: readonly Dialect[]): Promise<Dialect[]> {
  const found: Dialect[] = [];
  for (const dialect of wanted) {
    if (await isReachable(dialect)) found.push(dialect);
    else {
      const u = new URL(serverUrl(dialect as ServerDialect));
      if (u.password) u.password = '***';
      console.log(`skipping ${dialect}: server unreachable at ${u.toString()}`);
    }
  }
  return found;
}
