import { accessSync, chmodSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ToolError } from '../errors.js';
import {
  BaseAdapter,
  chunks,
  sqlBuilder,
  qualified,
  type ColumnInfo,
  type DialectAdapter,
  type ForeignKeyRef,
  type KeptTable,
  type SpecWrite,
  type StagedSpec,
  type StageTarget,
  STAGE_TABLE,
  type TableRef,
  type TransactionMode,
} from './adapter.js';

const HEADER = 'SQLite format 3\0';
/** Rows per UPDATE … FROM (VALUES …): three variables each, well under SQLite's 32766. */
const ROWS_PER_UPDATE = 1000;

/** Checks that a path is an existing SQLite file before anything opens (and so creates) it. */
function checkDatabaseFile(file: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new ToolError(`database file not found: ${file} (nothing was created; check --db or CTRL_DB_PATH)`);
  }
  if (stat.isDirectory()) throw new ToolError(`${file} is a directory, not a SQLite database file`);
  if (stat.size === 0) throw new ToolError(`${file} is an empty file, not a genai-factory database`);
  const buf = Buffer.alloc(HEADER.length);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, buf, 0, buf.length, 0);
  } catch (e) {
    throw new ToolError(`cannot read ${file}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (buf.toString('latin1') !== HEADER) throw new ToolError(`${file} is not a SQLite database file`);
}

/** SQLite through better-sqlite3: one file, locked whole by `BEGIN IMMEDIATE`. */
export class SqliteAdapter extends BaseAdapter implements DialectAdapter {
  readonly dialect = 'sqlite' as const;
  readonly transactionalDdl = true;
  readonly readAhead = 0;
  readonly rowLocks = false;
  readonly hasSchemas = false;
  readonly lockRunIsSeparate = false;
  readonly stableWrites = true;

  private constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    super(sqlBuilder('better-sqlite3', { filename: ':memory:' }));
  }

  /** Opens an existing database file; read-only mode is enforced by SQLite itself. */
  static open(file: string, options: { readOnly: boolean; busyTimeoutMs: number }): SqliteAdapter {
    checkDatabaseFile(file);
    let db: Database.Database;
    try {
      db = new Database(file, {
        readonly: options.readOnly,
        fileMustExist: true,
        timeout: Math.max(1, Math.round(options.busyTimeoutMs)),
      });
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      // better-sqlite3 turns foreign keys on; the controller's SQLAlchemy connections leave them off.
      db.pragma('foreign_keys = OFF');
    } catch (e) {
      throw new ToolError(`cannot open ${file}: ${describeSqliteError(e) ?? (e as Error).message}`);
    }
    return new SqliteAdapter(db, file);
  }

  /** Prepares a statement, noting it as sent. */
  private statement(sql: string): Database.Statement {
    this.trace(sql);
    return this.db.prepare(sql);
  }

  private exec(sql: string): void {
    this.trace(sql);
    this.db.exec(sql);
  }

  protected async runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]> {
    return this.statement(sql)
      .raw(true)
      .all(...bindings) as unknown[][];
  }

  protected async runNative<T>(sql: string, bindings: unknown[]): Promise<T[]> {
    const statement = this.statement(sql);
    if (statement.reader) return statement.all(...bindings) as T[];
    statement.run(...bindings);
    return [];
  }

  async lockRun(): Promise<void> {
    // BEGIN IMMEDIATE, waiting up to the busy timeout, is SQLite's lock between writers.
  }

  isLockTimeout(error: unknown): boolean {
    return (error as { code?: string })?.code === 'SQLITE_BUSY';
  }

  abort(): void {
    try {
      if (this.db.open) this.db.close(); // an open transaction is rolled back (its journal undone)
    } catch {
      // a statement is mid-step: the process exits next, and SQLite rolls the journal back on open
    }
  }

  async begin(mode: TransactionMode): Promise<void> {
    this.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
  }

  async commit(): Promise<void> {
    this.exec('COMMIT');
    this.committed = true;
  }

  async rollback(): Promise<void> {
    if (this.db.inTransaction) this.exec('ROLLBACK');
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    await this.knex.destroy();
  }

  async columns(ref: TableRef): Promise<ColumnInfo[] | null> {
    const rows = await this.query<{ name: string; type: string }>('SELECT name, type FROM pragma_table_info(?, ?)', [
      ref.table,
      ref.schema ?? 'main',
    ]);
    return rows.length === 0 ? null : rows.map((r) => ({ name: r.name, type: r.type.toLowerCase() }));
  }

  isJsonCapable(type: string): boolean {
    return ['', 'json', 'text', 'clob'].includes(type) || /char/.test(type);
  }

  asText(column: string): string {
    return `CAST(${this.quote(column)} AS TEXT)`;
  }

  keepsJsonText(type: string): boolean {
    return true;
  }

  asJsonText(column: string): string {
    return this.quote(column);
  }

  asJsonBytes(column: string): string {
    return `CAST(${this.quote(column)} AS BLOB)`;
  }

  async defaultSchema(): Promise<string | undefined> {
    return undefined;
  }

  async notes(): Promise<string[]> {
    const version = this.db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
    return [
      `SQLite ${version.v}, file ${this.file}`,
      'foreign keys are not enforced (as the controller runs SQLite): dangling workflow_id values are reported as orphans',
    ];
  }

  async writeProblems(): Promise<string[]> {
    const problems: string[] = [];
    for (const [path, what] of [
      [this.file, 'the database file'],
      [dirname(this.file), 'its directory (SQLite writes a journal beside it)'],
    ] as const) {
      try {
        accessSync(path, constants.W_OK);
      } catch {
        problems.push(`${what} is not writable: ${path}`);
      }
    }
    return problems;
  }

  async openStage(): Promise<void> {
    this.exec(`DROP TABLE IF EXISTS temp.${STAGE_TABLE}`);
    this.exec(
      `CREATE TEMP TABLE ${STAGE_TABLE} (uid TEXT NOT NULL, version TEXT NOT NULL, spec TEXT NOT NULL, hash TEXT NOT NULL)`,
    );
  }

  async stage(rows: StagedSpec[]): Promise<void> {
    await this.insertStaged(`temp.${STAGE_TABLE}`, rows);
  }

  async writeStage(t: StageTarget): Promise<void> {
    const workflow = this.quote(qualified(t.workflow));
    const on = `w.uid = s.uid${t.hasVersion ? ' AND w.version = s.version' : ''}`;
    const saved = this.statement(
      `INSERT INTO ${this.quote(qualified(t.backups))} (run_id, workflow_uid, workflow_version, original_spec, written_hash)
       SELECT ?, s.uid, s.version, w.spec, s.hash FROM temp.${STAGE_TABLE} AS s JOIN ${workflow} AS w ON ${on}`,
    ).run(t.runId);
    // The workflow rows are visited through their key index, each new spec looked up in the
    // stage by its key: at a million step rows 0.8 s instead of 1.3 for UPDATE … FROM, which reads
    // the stage's specs in order and the workflow rows at random.
    this.exec(`CREATE UNIQUE INDEX temp.${STAGE_TABLE}_key ON ${STAGE_TABLE} (uid, version)`);
    const name = this.quote(t.workflow.table);
    const key = t.hasVersion ? `${name}.uid = s.uid AND ${name}.version = s.version` : `${name}.uid = s.uid`;
    const updated = this.statement(
      `UPDATE ${workflow} SET spec = (SELECT s.spec FROM temp.${STAGE_TABLE} AS s WHERE ${key})
       WHERE ${t.hasVersion ? '(uid, version) IN (SELECT uid, version' : 'uid IN (SELECT uid'} FROM temp.${STAGE_TABLE})`,
    ).run();
    if (saved.changes !== t.count || updated.changes !== t.count) {
      throw new ToolError('workflow rows changed during the run; nothing was written');
    }
  }

  async closeStage(): Promise<void> {
    if (this.db.open) this.exec(`DROP TABLE IF EXISTS temp.${STAGE_TABLE}`);
  }

  async updateSpecs(ref: TableRef, _specType: string, hasVersion: boolean, rows: SpecWrite[]): Promise<void> {
    for (const chunk of chunks(rows, ROWS_PER_UPDATE, (r) => r.spec?.length ?? 0)) {
      const values = chunk.map(() => (hasVersion ? '(?, ?, ?)' : '(?, ?)')).join(', ');
      const bindings = chunk.flatMap((r) => (hasVersion ? [r.uid, r.version, r.spec] : [r.uid, r.spec]));
      // VALUES names its columns column1, column2, …
      const spec = hasVersion ? 'v.column3' : 'v.column2';
      const table = this.quote(ref.table);
      const sql =
        `UPDATE ${this.quote(qualified(ref))} SET spec = ${spec} FROM (VALUES ${values}) AS v ` +
        `WHERE ${table}.uid = v.column1${hasVersion ? ` AND ${table}.version = v.column2` : ''}`;
      const result = this.statement(sql).run(...bindings);
      if (result.changes !== chunk.length) {
        throw new ToolError('workflow rows changed during the run; nothing was written');
      }
    }
  }

  async foreignKeysTo(ref: TableRef): Promise<ForeignKeyRef[]> {
    const tables = await this.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
    const found: ForeignKeyRef[] = [];
    for (const { name } of tables) {
      const keys = await this.query<{ target: string; id: number }>(
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

  /**
   * SQLite rewrites a renamed table's CREATE text (it quotes the new name), so the original DDL of
   * each table and its indexes is captured before the rename, to recreate them byte for byte.
   */
  async freezeTables(): Promise<void> {
    // BEGIN IMMEDIATE keeps every other writer out of the whole file.
  }

  async keepTables(
    tables: KeptTable[],
    guard: { ref: TableRef; rows: number },
  ): Promise<{ kept: boolean; captured: string | null }> {
    const [count] = await this.query<{ n: number }>('SELECT COUNT(*) AS n FROM ??', [guard.ref.table]);
    if (Number(count?.n) !== guard.rows) return { kept: false, captured: null };
    const captured: CapturedTable[] = [];
    for (const t of tables) {
      const ddl = await this.query<{ type: string; sql: string }>(
        'SELECT type, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid',
        [t.original.table],
      );
      if (!ddl.some((d) => d.type === 'table'))
        throw new ToolError(`cannot read the definition of ${t.original.table}; nothing was dropped`);
      const hasSequence = (await this.columns({ table: 'sqlite_sequence' })) !== null;
      const [sequence] = hasSequence
        ? await this.query<{ seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?', [t.original.table])
        : [];
      captured.push({
        name: t.original.table,
        table: ddl.filter((d) => d.type === 'table').map((d) => d.sql),
        indexes: ddl.filter((d) => d.type !== 'table').map((d) => d.sql),
        sequence: sequence?.seq ?? null,
      });
    }
    // Legacy mode: views and triggers that name the table are left as they are (they work again
    // after a rollback), instead of being rewritten to follow the kept copy.
    this.db.pragma('legacy_alter_table = ON');
    try {
      for (const t of tables) await this.query('ALTER TABLE ?? RENAME TO ??', [t.original.table, t.kept]);
    } finally {
      this.db.pragma('legacy_alter_table = OFF');
    }
    return { kept: true, captured: JSON.stringify(captured) };
  }

  async restoreTables(tables: KeptTable[], captured: string | null): Promise<void> {
    const all = JSON.parse(captured ?? '[]') as CapturedTable[];
    const ddl = tables.map((t) => all.find((c) => c.name === t.original.table));
    if (ddl.some((d) => d === undefined))
      throw new ToolError('the run record holds no DDL to restore these tables with');
    // Tables first (their index names are still taken by the kept tables), rows in rowid order.
    tables.forEach((t, i) => {
      for (const sql of ddl[i]!.table) this.exec(sql);
      this.exec(`INSERT INTO ${this.quote(t.original.table)} SELECT * FROM ${this.quote(t.kept)} ORDER BY rowid`);
    });
    for (const t of tables) this.exec(`DROP TABLE ${this.quote(t.kept)}`);
    tables.forEach((t, i) => {
      for (const sql of ddl[i]!.indexes) this.exec(sql);
      const seq = ddl[i]!.sequence;
      if (seq !== null) {
        this.statement('DELETE FROM sqlite_sequence WHERE name = ?').run(t.original.table);
        this.statement('INSERT INTO sqlite_sequence (name, seq) VALUES (?, CAST(? AS INTEGER))').run(
          t.original.table,
          seq,
        );
      }
    });
  }

  async backupFile(path: string): Promise<void> {
    closeSync(openSync(path, 'wx', 0o600)); // never over an existing file; private from the start
    await this.db.backup(path);
    chmodSync(path, 0o600);
  }

  describeError(error: unknown): string | undefined {
    return describeSqliteError(error);
  }
}

/** What SQLite needs to recreate a kept table exactly: its CREATE texts and AUTOINCREMENT counter. */
interface CapturedTable {
  name: string;
  table: string[];
  indexes: string[];
  sequence: number | null;
}

function describeSqliteError(error: unknown): string | undefined {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case 'SQLITE_NOTADB':
      return 'the file is not a SQLite database';
    case 'SQLITE_BUSY':
      return 'the database is locked by another process (try again, or raise --lock-timeout)';
    case 'SQLITE_READONLY':
      return 'the database is read-only (check the file and directory permissions)';
    case 'SQLITE_CANTOPEN':
      return 'the database file cannot be opened';
    case 'SQLITE_CORRUPT':
      return 'the database file is corrupt';
    case 'SQLITE_FULL':
      // The stage of an apply is a temporary table: at a million rows, a temporary file of ~200 MB.
      return "no room on disk for the database file, its journal or SQLite's temporary files (in $SQLITE_TMPDIR if set, else /var/tmp or /tmp)";
    default:
      return code?.startsWith('SQLITE_') ? `SQLite error ${code}: ${(error as Error).message}` : undefined;
  }
}
