import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import createKnex, { type Knex } from 'knex';
import { datasetRows, schemaStatements, type Dialect } from './datasets.js';

export type { Dialect } from './datasets.js';

/** Every dialect the integration suite runs against. */
export const DIALECTS = ['sqlite', 'postgres', 'mysql'] as const satisfies readonly Dialect[];

/** A throw-away database with its URL (a file path on SQLite) and a lazily opened knex. */
export interface TestDatabase {
  dialect: Dialect;
  /** The database name (the file's base name on SQLite). */
  name: string;
  url: string;
  knex(): Knex;
  drop(): Promise<void>;
}

const DEFAULT_URLS = {
  postgres: 'postgresql://postgres@127.0.0.1:5432/test',
  mysql: 'mysql://root@127.0.0.1:3306/test',
};

/** The server URL for a dialect, from STEPCFG_TEST_PG_URL / STEPCFG_TEST_MYSQL_URL or the local default. */
export function serverUrl(dialect: Exclude<Dialect, 'sqlite'>): string {
  const fromEnv = dialect === 'postgres' ? process.env.STEPCFG_TEST_PG_URL : process.env.STEPCFG_TEST_MYSQL_URL;
  return fromEnv || DEFAULT_URLS[dialect];
}

/** The same server URL pointing at another database. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A knex config for a URL: better-sqlite3 file (foreign keys off), pg URL, or mysql2 with dates and big numbers as strings. */
export function knexConfig(dialect: Dialect, url: string): Knex.Config {
  if (dialect === 'sqlite') {
    // better-sqlite3 enables foreign keys by default; the controller (Python sqlite3) does not, and the
    // models' FKs to *.uid make every write to step_configuration fail with "foreign key mismatch" if on.
    const afterCreate = (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
      conn.pragma('foreign_keys = OFF');
      done(null, conn);
    };
    return { client: 'better-sqlite3', connection: { filename: url }, useNullAsDefault: true, pool: { afterCreate } };
  }
  const pool = { min: 0, max: 4 };
  if (dialect === 'postgres') return { client: 'pg', connection: url, pool, acquireConnectionTimeout: 5000 };
  const u = new URL(url);
  const connection = {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
  return { client: 'mysql2', connection, pool, acquireConnectionTimeout: 5000 };
}

/** Runs fn on a short-lived connection to the server's default database. */
async function withServer<T>(dialect: Exclude<Dialect, 'sqlite'>, fn: (k: Knex) => Promise<T>): Promise<T> {
  const quiet = { warn() {}, error() {}, debug() {}, deprecate() {} }; // failures are thrown, not logged
  const k = createKnex({ ...knexConfig(dialect, serverUrl(dialect)), pool: { min: 0, max: 1 }, log: quiet });
  try {
    return await fn(k);
  } finally {
    await k.destroy();
  }
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

const reachable = new Map<Dialect, Promise<boolean>>();

/** Whether the dialect's server answers `SELECT 1` (SQLite always does). Cached per process. */
export function isReachable(dialect: Dialect): Promise<boolean> {
  if (dialect === 'sqlite') return Promise.resolve(true);
  let answer = reachable.get(dialect);
  if (!answer) {
    answer = withServer(dialect, (k) => k.raw('SELECT 1')).then(
      () => true,
      () => false,
    );
    reachable.set(dialect, answer);
  }
  return answer;
}

/**
 * Whether to run a dialect's tests: true when reachable; otherwise a printed notice and false,
 * or, when CI is set, a thrown error so the suite fails instead of skipping.
 */
export async function requireOrSkip(dialect: Dialect): Promise<boolean> {
  if (await isReachable(dialect)) return true;
  const where = dialect === 'sqlite' ? 'sqlite' : redactUrl(serverUrl(dialect));
  if (process.env.CI) throw new Error(`${dialect} server unreachable at ${where} (CI is set: failing instead of skipping)`);
  console.warn(`[stepcfg tests] skipping ${dialect}: server unreachable at ${where}`);
  return false;
}

/** Creates an empty, uniquely named database (a temp file on SQLite); drop() removes it. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const name = `stepcfg_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = dialect === 'sqlite' ? sqliteFile(name) : withDatabase(serverUrl(dialect), name);
  if (dialect !== 'sqlite') await withServer(dialect, (k) => k.raw('CREATE DATABASE ??', [name]));

  let instance: Knex | undefined;
  const knex = (): Knex => (instance ??= createKnex(knexConfig(dialect, url)));
  const drop = async (): Promise<void> => {
    await instance?.destroy();
    instance = undefined;
    if (dialect === 'sqlite') {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(url + suffix, { force: true });
      return;
    }
    await withServer(dialect, async (k) => {
      await disconnectOthers(dialect, k, name);
      await k.raw('DROP DATABASE IF EXISTS ??', [name]);
    });
  };
  return { dialect, name, url, knex, drop };
}

/** The temp file of a SQLite test database. */
function sqliteFile(name: string): string {
  return path.join(os.tmpdir(), `${name}.db`);
}

/** Ends other sessions on the database (a CLI under test may still hold one) so it can be dropped. */
async function disconnectOthers(dialect: Dialect, k: Knex, database: string): Promise<void> {
  if (dialect === 'postgres') {
    await k.raw('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()', [
      database,
    ]);
    return;
  }
  const ids = await rowsOf<{ id: number | string }>(
    dialect,
    await k.raw('SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()', [database]),
  );
  for (const { id } of ids) await k.raw('KILL ?', [Number(id)]).catch(() => undefined);
}

/** The rows of a knex.raw result, whatever the driver's result shape. */
function rowsOf<T>(dialect: Dialect, result: unknown): T[] {
  if (dialect === 'postgres') return (result as { rows: T[] }).rows;
  if (dialect === 'mysql') return (result as [T[], unknown])[0];
  return result as T[];
}

/** Runs `fixtures/schema/<dialect>.sql`, one statement at a time. */
export async function loadSchema(db: TestDatabase): Promise<void> {
  for (const statement of schemaStatements(db.dialect)) await db.knex().raw(statement);
}

/**
 * Inserts `fixtures/datasets/<name>.json` in listed order: JSON text and datetimes verbatim as text
 * parameters (PostgreSQL types them from the column), explicit label uids; PG sequences moved past them.
 */
export async function loadDataset(db: TestDatabase, name: string): Promise<void> {
  const tables = datasetRows(name, db.dialect);
  await db.knex().transaction(async (trx) => {
    for (const [table, rows] of Object.entries(tables)) {
      for (const row of rows) await trx(table).insert(row);
      if (db.dialect === 'postgres' && table.endsWith('_labels') && rows.length > 0) {
        const max = Math.max(...rows.map((row) => Number(row.uid)));
        await trx.raw("SELECT setval(pg_get_serial_sequence(?, 'uid'), ?)", [table, max]);
      }
    }
  });
}

/** The value of a column as its stored text: SQLite as `storage-type:quote(value)`, servers cast to text. */
function storedText(k: Knex, dialect: Dialect, column: string, alias: string): Knex.Raw {
  if (dialect === 'sqlite') return k.raw("typeof(??) || ':' || quote(??) AS ??", [column, column, alias]);
  return k.raw(`CAST(?? AS ${dialect === 'postgres' ? 'text' : 'CHAR'}) AS ??`, [column, alias]);
}

/** Base tables of the database, sorted. */
export async function listTables(db: TestDatabase): Promise<string[]> {
  const k = db.knex();
  const sql = {
    sqlite: "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    postgres: "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    mysql: "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = database() AND table_type = 'BASE TABLE'",
  }[db.dialect];
  const rows = rowsOf<{ t: string }>(db.dialect, await k.raw(sql));
  return rows.map((row) => row.t).sort(byCodePoint);
}

/** Columns of a table in order, each as `name type [NOT NULL]`. */
async function describeColumns(db: TestDatabase, table: string): Promise<Array<{ name: string; text: string }>> {
  const sql = {
    sqlite: 'SELECT name AS n, type AS ty, "notnull" AS nn FROM pragma_table_info(?) ORDER BY cid',
    postgres:
      "SELECT column_name AS n, data_type || coalesce('(' || character_maximum_length || ')', '') AS ty, " +
      "(is_nullable = 'NO') AS nn FROM information_schema.columns WHERE table_schema = current_schema() " +
      'AND table_name = ? ORDER BY ordinal_position',
    mysql:
      "SELECT column_name AS n, column_type AS ty, (is_nullable = 'NO') AS nn FROM information_schema.columns " +
      'WHERE table_schema = database() AND table_name = ? ORDER BY ordinal_position',
  }[db.dialect];
  const rows = rowsOf<{ n: string; ty: string; nn: unknown }>(db.dialect, await db.knex().raw(sql, [table]));
  return rows.map((r) => ({ name: r.n, text: `${r.n} ${r.ty}${r.nn === true || Number(r.nn) === 1 ? ' NOT NULL' : ''}` }));
}

export interface DumpOptions {
  /** Tables left out; default: the tool's own `stepcfg_migrate_*` tables. */
  exclude?: (table: string) => boolean;
}

/**
 * A canonical text dump: tables sorted, columns in order with their types, rows sorted, every
 * value as its exact stored text. Two dumps of equal databases are equal strings.
 */
export async function dumpDatabase(db: TestDatabase, options: DumpOptions = {}): Promise<string> {
  const exclude = options.exclude ?? ((table: string) => table.startsWith('stepcfg_migrate_'));
  const k = db.knex();
  const out: string[] = [];
  for (const table of (await listTables(db)).filter((t) => !exclude(t))) {
    const columns = await describeColumns(db, table);
    const selects = columns.map((c, i) => storedText(k, db.dialect, c.name, `c${i}`));
    const rows = (await k.select(selects).from(table)) as Array<Record<string, string | null>>;
    const lines = rows.map((row) => JSON.stringify(columns.map((_, i) => row[`c${i}`] ?? null))).sort(byCodePoint);
    out.push(`== ${table} (${columns.map((c) => c.text).join(', ')}) ${rows.length} rows`, ...lines);
  }
  return out.join('\n') + '\n';
}

/** A workflow row's spec exactly as stored (null for SQL NULL). */
export interface StoredWorkflowSpec {
  uid: string;
  version: string;
  spec: string | null;
}

/** Every workflow row's spec as stored text, sorted by uid then version (code points). */
export async function readWorkflowSpecs(db: TestDatabase, table = 'workflow'): Promise<StoredWorkflowSpec[]> {
  const k = db.knex();
  const spec = db.dialect === 'sqlite' ? k.raw('?? AS ??', ['spec', 'spec']) : storedText(k, db.dialect, 'spec', 'spec');
  const rows = (await k.select('uid', 'version', spec).from(table)) as StoredWorkflowSpec[];
  return rows
    .map(({ uid, version, spec }) => ({ uid, version, spec }))
    .sort((a, b) => byCodePoint(a.uid, b.uid) || byCodePoint(a.version, b.version));
}

/** Creates a database, loads the schema and a dataset, runs fn, and always drops the database. */
export async function withDataset<T>(dialect: Dialect, name: string, fn: (db: TestDatabase) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(dialect);
  try {
    await loadSchema(db);
    await loadDataset(db, name);
    return await fn(db);
  } finally {
    await db.drop();
  }
}

/** Whether a database of that name exists on the server (on SQLite: whether the file exists). */
export async function databaseExists(dialect: Dialect, name: string): Promise<boolean> {
  if (dialect === 'sqlite') return existsSync(sqliteFile(name));
  const sql =
    dialect === 'postgres'
      ? 'SELECT datname AS n FROM pg_database WHERE datname = ?'
      : 'SELECT schema_name AS n FROM information_schema.schemata WHERE schema_name = ?';
  return withServer(dialect, async (k) => rowsOf(dialect, await k.raw(sql, [name])).length > 0);
}

/** Compares strings by Unicode code point (not UTF-16 unit, not locale). */
export function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
