import { spawnSync } from 'node:child_process';
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
  if (process.env.CI)
    throw new Error(`${dialect} server unreachable at ${where} (CI is set: failing instead of skipping)`);
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
    await k.raw(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()',
      [database],
    );
    return;
  }
  const ids = await rowsOf<{ id: number | string }>(
    dialect,
    await k.raw('SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()', [database]),
  );
  for (const { id } of ids) await k.raw('KILL ?', [Number(id)]).catch(() => undefined);
}

/** The rows of a knex.raw result, whatever the driver's result shape. */
export function rowsOf<T>(dialect: Dialect, result: unknown): T[] {
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
    postgres:
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    mysql:
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = database() AND table_type = 'BASE TABLE'",
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
  return rows.map((r) => ({
    name: r.n,
    text: `${r.n} ${r.ty}${r.nn === true || Number(r.nn) === 1 ? ' NOT NULL' : ''}`,
  }));
}

export interface DumpOptions {
  /** Tables left out; default: the tool's own `stepcfg_migrate_*` tables. */
  exclude?: (table: string) => boolean;
}

/**
 * A canonical text dump: tables sorted; per table its columns, its full definition (see
 * `describeTable`), the foreign keys of any table (excluded ones too) that reference it, and its
 * rows sorted, every value as its exact stored text. Two dumps of equal databases are equal strings.
 */
export async function dumpDatabase(db: TestDatabase, options: DumpOptions = {}): Promise<string> {
  const exclude = options.exclude ?? ((table: string) => table.startsWith('stepcfg_migrate_'));
  const k = db.knex();
  const referencing = await referencingKeys(db);
  const out: string[] = [];
  for (const table of (await listTables(db)).filter((t) => !exclude(t))) {
    const columns = await describeColumns(db, table);
    const selects = columns.map((c, i) => storedText(k, db.dialect, c.name, `c${i}`));
    const rows = (await k.select(selects).from(table)) as Array<Record<string, string | null>>;
    const lines = rows.map((row) => JSON.stringify(columns.map((_, i) => row[`c${i}`] ?? null))).sort(byCodePoint);
    const definition = [...(await describeTable(db, table)), ...(referencing.get(tableKey(db.dialect, table)) ?? [])];
    out.push(`== ${table} (${columns.map((c) => c.text).join(', ')}) ${rows.length} rows`, ...definition, ...lines);
  }
  return out.join('\n') + '\n';
}

/** One definition line of a dump: `  label: text`, further lines of the text indented (rows start with `[`). */
function entry(label: string, text: string): string {
  return `  ${label}: ${text.replace(/\n/g, '\n    ')}`;
}

/** The key a table name is matched by: SQLite names are case-insensitive. */
function tableKey(dialect: Dialect, table: string): string {
  return dialect === 'sqlite' ? table.toLowerCase() : table;
}

/** A table's full definition as dump lines, read from the catalog without changing anything. */
function describeTable(db: TestDatabase, table: string): Promise<string[]> {
  if (db.dialect === 'sqlite') return describeSqliteTable(db, table);
  if (db.dialect === 'postgres') return describePostgresTable(db, table);
  return describeMysqlTable(db, table);
}

/** SQLite: the `sql` of the table, then of its indexes and triggers by (type, name), then its sqlite_sequence row. */
async function describeSqliteTable(db: TestDatabase, table: string): Promise<string[]> {
  const k = db.knex();
  const objects = (await k.raw('SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ?', [table])) as Array<{
    type: string;
    name: string;
    sql: string | null;
  }>;
  const rank = (o: { type: string }) => (o.type === 'table' ? 0 : 1);
  objects.sort((a, b) => rank(a) - rank(b) || byCodePoint(a.type, b.type) || byCodePoint(a.name, b.name));
  const lines = objects.map((o) => entry(`${o.type} ${o.name}`, o.sql ?? '(automatic)'));
  const hasSequence =
    (await k.raw("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")).length > 0;
  if (hasSequence) {
    const rows = (await k.raw('SELECT seq FROM sqlite_sequence WHERE name = ?', [table])) as Array<{ seq: number }>;
    for (const { seq } of rows) lines.push(entry('sqlite_sequence', String(seq)));
  }
  return lines;
}

/** The oid of a table of the current schema, as an SQL subquery taking the table name. */
const PG_TABLE_OID =
  '(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ' +
  "WHERE n.nspname = current_schema() AND c.relname = ? AND c.relkind IN ('r', 'p'))";

/** PostgreSQL: columns (type, NOT NULL, default), constraints, indexes and owned sequences with their state. */
async function describePostgresTable(db: TestDatabase, table: string): Promise<string[]> {
  return [
    ...(await pgColumns(db, table)),
    ...(await pgConstraints(db, table)),
    ...(await pgIndexes(db, table)),
    ...(await pgSequences(db, table)),
  ];
}

/** Each column in order: `format_type`, NOT NULL, DEFAULT, identity, generated, non-default collation. */
async function pgColumns(db: TestDatabase, table: string): Promise<string[]> {
  const sql =
    'SELECT a.attname AS n, format_type(a.atttypid, a.atttypmod) AS ty, a.attnotnull AS nn, ' +
    'pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS ident, a.attgenerated AS gen, ' +
    'CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS coll ' +
    'FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid ' +
    'LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum ' +
    'LEFT JOIN pg_collation co ON co.oid = a.attcollation ' +
    `WHERE a.attrelid = ${PG_TABLE_OID} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
  type Column = {
    n: string;
    ty: string;
    nn: boolean;
    def: string | null;
    ident: string;
    gen: string;
    coll: string | null;
  };
  const rows = rowsOf<Column>('postgres', await db.knex().raw(sql, [table]));
  return rows.map((c) => {
    const parts = [c.ty, c.nn ? 'NOT NULL' : 'NULL'];
    if (c.def !== null) parts.push(`DEFAULT ${c.def}`);
    if (c.ident) parts.push(`IDENTITY ${c.ident}`);
    if (c.gen) parts.push(`GENERATED ${c.gen}`);
    if (c.coll) parts.push(`COLLATE ${c.coll}`);
    return entry(`column ${c.n}`, parts.join(' '));
  });
}

/** Every constraint (PK, UNIQUE, FK, CHECK, EXCLUDE) as `conname: pg_get_constraintdef`, by name. */
async function pgConstraints(db: TestDatabase, table: string): Promise<string[]> {
  const sql = `SELECT conname AS n, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = ${PG_TABLE_OID}`;
  const rows = rowsOf<{ n: string; def: string }>('postgres', await db.knex().raw(sql, [table]));
  return rows.sort((a, b) => byCodePoint(a.n, b.n)).map((r) => entry(`constraint ${r.n}`, r.def));
}

/** Every index as its `pg_indexes.indexdef`, by name. */
async function pgIndexes(db: TestDatabase, table: string): Promise<string[]> {
  const sql =
    'SELECT indexname AS n, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?';
  const rows = rowsOf<{ n: string; def: string }>('postgres', await db.knex().raw(sql, [table]));
  return rows.sort((a, b) => byCodePoint(a.n, b.n)).map((r) => entry(`index ${r.n}`, r.def));
}

/**
 * Every sequence owned by a column (SERIAL or identity, via pg_depend): its parameters, and its state
 * read from the sequence relation itself (`last_value`, `is_called`), which does not advance it.
 */
async function pgSequences(db: TestDatabase, table: string): Promise<string[]> {
  const sql =
    'SELECT s.relname AS n, sn.nspname AS sch, a.attname AS col, format_type(q.seqtypid, NULL) AS ty, ' +
    'q.seqstart AS start, q.seqincrement AS inc, q.seqmin AS min, q.seqmax AS max, q.seqcache AS cache, q.seqcycle AS cycle ' +
    "FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' " +
    'JOIN pg_namespace sn ON sn.oid = s.relnamespace JOIN pg_sequence q ON q.seqrelid = s.oid ' +
    'JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid ' +
    "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass " +
    `AND d.deptype IN ('a', 'i') AND d.refobjid = ${PG_TABLE_OID}`;
  type Parameter = 'start' | 'inc' | 'min' | 'max' | 'cache';
  type Sequence = { n: string; sch: string; col: string; ty: string; cycle: boolean } & Record<Parameter, string>;
  const sequences = rowsOf<Sequence>('postgres', await db.knex().raw(sql, [table])).sort((a, b) =>
    byCodePoint(a.n, b.n),
  );
  const lines: string[] = [];
  for (const s of sequences) {
    const state = rowsOf<{ last_value: string; is_called: boolean }>(
      'postgres',
      await db.knex().raw('SELECT last_value::text AS last_value, is_called FROM ??.??', [s.sch, s.n]),
    )[0]!;
    const params = `${s.ty} start ${s.start} increment ${s.inc} min ${s.min} max ${s.max} cache ${s.cache}${s.cycle ? ' cycle' : ''}`;
    lines.push(
      entry(
        `sequence ${s.n} owned by ${s.col}`,
        `${params}; last_value ${state.last_value} is_called ${state.is_called}`,
      ),
    );
  }
  return lines;
}

/** MariaDB/MySQL: `SHOW CREATE TABLE` (columns, keys, FKs, checks, options and AUTO_INCREMENT=N, read without advancing it). */
async function describeMysqlTable(db: TestDatabase, table: string): Promise<string[]> {
  const rows = rowsOf<Record<string, string>>('mysql', await db.knex().raw('SHOW CREATE TABLE ??', [table]));
  return [entry('create', rows[0]!['Create Table']!)];
}

/** Every foreign key of every table (the tool's too), as dump lines grouped by the table it references. */
async function referencingKeys(db: TestDatabase): Promise<Map<string, string[]>> {
  const read = { sqlite: sqliteForeignKeys, postgres: pgForeignKeys, mysql: mysqlForeignKeys }[db.dialect];
  const keys = await read(db);
  const byTarget = new Map<string, string[]>();
  for (const key of keys.sort((a, b) => byCodePoint(a.line, b.line))) {
    const target = tableKey(db.dialect, key.target);
    byTarget.set(target, [...(byTarget.get(target) ?? []), key.line]);
  }
  return byTarget;
}

/** A foreign key as a dump line under the table it references. */
interface ForeignKey {
  target: string;
  line: string;
}

/** SQLite: every table's `pragma_foreign_key_list`, one line per key (columns in key order). */
async function sqliteForeignKeys(db: TestDatabase): Promise<ForeignKey[]> {
  const sql =
    'SELECT m.name AS t, f.id AS id, f."table" AS target, f."from" AS fr, f."to" AS too, ' +
    'f.on_update AS upd, f.on_delete AS del, f."match" AS mt ' +
    "FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq";
  type Row = {
    t: string;
    id: number;
    target: string;
    fr: string;
    too: string | null;
    upd: string;
    del: string;
    mt: string;
  };
  const groups = new Map<string, Row[]>();
  for (const row of (await db.knex().raw(sql)) as Row[]) {
    const id = `${row.t}#${row.id}`;
    groups.set(id, [...(groups.get(id) ?? []), row]);
  }
  return [...groups.entries()].map(([id, rows]) => {
    const r = rows[0]!;
    const to = rows.map((x) => x.too ?? '(primary key)').join(', ');
    const text =
      `FOREIGN KEY (${rows.map((x) => x.fr).join(', ')}) REFERENCES ${r.target} (${to}) ` +
      `ON UPDATE ${r.upd} ON DELETE ${r.del} MATCH ${r.mt}`;
    return { target: r.target, line: entry(`referenced by ${id}`, text) };
  });
}

/** PostgreSQL: every FK constraint pointing at a table of the current schema, from any schema. */
async function pgForeignKeys(db: TestDatabase): Promise<ForeignKey[]> {
  const sql =
    "SELECT CASE WHEN tn.nspname = current_schema() THEN '' ELSE tn.nspname || '.' END || tc.relname AS t, " +
    'rc.relname AS target, con.conname AS n, pg_get_constraintdef(con.oid) AS def ' +
    'FROM pg_constraint con JOIN pg_class tc ON tc.oid = con.conrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace ' +
    'JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace ' +
    "WHERE con.contype = 'f' AND rn.nspname = current_schema()";
  const rows = rowsOf<{ t: string; target: string; n: string; def: string }>('postgres', await db.knex().raw(sql));
  return rows.map((r) => ({ target: r.target, line: entry(`referenced by ${r.t}.${r.n}`, r.def) }));
}

/** MariaDB/MySQL: every FK pointing at a table of this database, from any database (columns in key order). */
async function mysqlForeignKeys(db: TestDatabase): Promise<ForeignKey[]> {
  const sql =
    "SELECT CASE WHEN rc.constraint_schema = database() THEN '' ELSE concat(rc.constraint_schema, '.') END AS sch, " +
    'rc.table_name AS t, rc.referenced_table_name AS target, rc.constraint_name AS n, ' +
    'rc.update_rule AS upd, rc.delete_rule AS del, rc.match_option AS mt, ' +
    "group_concat(k.column_name ORDER BY k.ordinal_position SEPARATOR ', ') AS cols, " +
    "group_concat(k.referenced_column_name ORDER BY k.ordinal_position SEPARATOR ', ') AS refs " +
    'FROM information_schema.referential_constraints rc JOIN information_schema.key_column_usage k ' +
    'ON k.constraint_schema = rc.constraint_schema AND k.table_name = rc.table_name AND k.constraint_name = rc.constraint_name ' +
    'AND k.referenced_table_name IS NOT NULL WHERE rc.unique_constraint_schema = database() ' +
    'GROUP BY rc.constraint_schema, rc.table_name, rc.constraint_name, rc.referenced_table_name, ' +
    'rc.update_rule, rc.delete_rule, rc.match_option';
  type Row = {
    sch: string;
    t: string;
    target: string;
    n: string;
    upd: string;
    del: string;
    mt: string;
    cols: string;
    refs: string;
  };
  const rows = rowsOf<Row>('mysql', await db.knex().raw(sql));
  return rows.map((r) => ({
    target: r.target,
    line: entry(
      `referenced by ${r.sch}${r.t}.${r.n}`,
      `FOREIGN KEY (${r.cols}) REFERENCES ${r.target} (${r.refs}) ON UPDATE ${r.upd} ON DELETE ${r.del} MATCH ${r.mt}`,
    ),
  }));
}

/**
 * The `sqlite3` shell's `.dump` of each table with its indexes and triggers (the shell's `.dump TABLE`
 * matches object names, so a table's indexes are named too), concatenated: CREATE TABLE, INSERTs, then
 * CREATE INDEX/TRIGGER. The file is opened read-only; throws if the sqlite3 binary is not installed.
 */
export function sqliteDotDump(file: string, tables: string[]): string {
  if (!existsSync(file)) throw new Error(`sqliteDotDump: no such file ${file}`);
  return tables
    .map((table) => sqliteShell(file, `.dump ${[table, ...sqliteDependents(file, table)].map(dumpPattern).join(' ')}`))
    .join('');
}

/** The names of a table's indexes and triggers that have SQL (automatic indexes have none), by name. */
function sqliteDependents(file: string, table: string): string[] {
  const literal = `'${table.replace(/'/g, "''")}'`;
  const query = `SELECT name FROM sqlite_master WHERE tbl_name = ${literal} AND type IN ('index', 'trigger') AND sql NOT NULL`;
  return sqliteShell(file, query).split('\n').filter(Boolean).sort(byCodePoint);
}

/** A `.dump` argument matching exactly that name: single-quoted (taken literally), LIKE … ESCAPE '\\' wildcards escaped. */
function dumpPattern(name: string): string {
  if (name.includes("'")) throw new Error(`sqliteDotDump: cannot pass the name ${name} to the sqlite3 shell`);
  return `'${name.replace(/[\\%_]/g, (c) => `\\${c}`)}'`;
}

/** Runs one command of the `sqlite3` shell on a file opened read-only and returns its stdout. */
function sqliteShell(file: string, command: string): string {
  const run = spawnSync('sqlite3', ['-readonly', '-bail', file, command], { encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('sqliteDotDump: the sqlite3 command-line shell is not installed (Debian: apt-get install sqlite3)');
  }
  if (run.error) throw run.error;
  if (run.status !== 0 || run.stderr)
    throw new Error(`sqlite3 ${command} on ${file} failed (${run.status}): ${run.stderr.trim()}`);
  return run.stdout;
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
  const spec =
    db.dialect === 'sqlite' ? k.raw('?? AS ??', ['spec', 'spec']) : storedText(k, db.dialect, 'spec', 'spec');
  const rows = (await k.select('uid', 'version', spec).from(table)) as StoredWorkflowSpec[];
  return rows
    .map(({ uid, version, spec }) => ({ uid, version, spec }))
    .sort((a, b) => byCodePoint(a.uid, b.uid) || byCodePoint(a.version, b.version));
}

/** The runs recorded in the tool's run table, or none where that table does not exist. */
export async function recordedRuns(db: TestDatabase): Promise<number> {
  if (!(await listTables(db)).includes('stepcfg_migrate_runs')) return 0;
  const [row] = await db.knex()('stepcfg_migrate_runs').count({ n: '*' });
  return Number(row?.n);
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
