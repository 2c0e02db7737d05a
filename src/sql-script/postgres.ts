import { BACKUP_COLUMNS } from '../dialect/own-tables.js';
import { ADVISORY_CLASS } from '../dialect/postgres/session.js';
import { specCast } from '../dialect/postgres/writes.js';
import {
  backupKey,
  insertRun,
  rowChanged,
  rowKey,
  stepColumnTexts,
  stepsChanged,
  type ScriptDialect,
  type ScriptTarget,
} from './script-dialect.js';

/** Digits of a slot that holds a count or a sum. */
const NUMBER_SLOT = 24;
/** Where the guards put nothing: a statement must end in a query, and psql prints no INSERT. */
const GUARDED = 'pg_temp.stepcfg_migrate_guarded';
/** Raises `message` unless `ok`: a guard that misses ends the script, naming the row. */
const GUARD = 'pg_temp.stepcfg_migrate_guard';

/**
 * The script for psql: the tool's advisory lock (held to the commit), one READ COMMITTED
 * transaction as the tool's apply, and each row's guard, backup and update in one statement.
 */
export const postgresScript: ScriptDialect = {
  rowHash: 'sha256',

  literal(text) {
    // psql reads a carriage return of a quoted text as its own: such a text goes as bytes.
    if (text.includes('\r')) return `convert_from('\\x${Buffer.from(text, 'utf8').toString('hex')}', 'UTF8')`;
    return `'${text.replace(/'/g, "''")}'`;
  },

  table: (ref) => (ref.schema ? `"${ref.schema}"."${ref.table}"` : `"${ref.table}"`),

  howToRun: (file) => [`psql -X -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f ${file}`],

  autoCommits: () => ['Nothing commits before the end: the tool tables are created inside the transaction.'],

  prologue(t, out) {
    out.write(
      '\\set ON_ERROR_STOP on\n\\set QUIET on\n' +
        "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n" +
        // As the tool reads: timestamps in ISO form, which the step table's fingerprint hashes.
        "SET DateStyle = 'ISO, YMD';\n" +
        `SET lock_timeout = ${Math.max(1, Math.round(t.lockTimeoutMs))};\n` +
        'BEGIN ISOLATION LEVEL READ COMMITTED;\n' +
        `DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(${ADVISORY_CLASS}, hashtext(${this.literal(t.lockKey)})); END $lock$;\n` +
        t.ownTables.map((s) => `${s};\n`).join('') +
        `CREATE FUNCTION ${GUARD}(ok boolean, message text) RETURNS boolean LANGUAGE plpgsql AS $guard$\n` +
        "BEGIN IF ok IS NOT TRUE THEN RAISE EXCEPTION '%', message; END IF; RETURN true; END $guard$;\n" +
        `CREATE TEMP TABLE stepcfg_migrate_guarded (ok boolean) ON COMMIT DROP;\n`,
    );
    out.write('-- The step table must hold exactly the rows the plan read (their count and hash sum);\n');
    out.write('-- SHARE mode keeps it so until the commit (reads go on, writes wait).\n');
    out.write(`LOCK TABLE ${this.table(t.step)} IN SHARE MODE;\n`);
    out.write(`INSERT INTO ${GUARDED} SELECT true WHERE NOT ${GUARD}((\n  SELECT count(*) = `);
    const rows = out.slot(NUMBER_SLOT);
    out.write(
      `AND coalesce(sum(('x' || left(encode(sha256(convert_to(${rowText(t)}, 'UTF8')), 'hex'), 10))::bit(40)::bigint), 0) = `,
    );
    const sum = out.slot(NUMBER_SLOT);
    out.write(
      `\n  FROM (SELECT ${stepColumnTexts(t)} FROM ${this.table(t.step)}) AS r), ${this.literal(stepsChanged(t))});\n`,
    );
    return (facts) => {
      out.fill(rows, String(facts.stepRows));
      out.fill(sum, String(facts.stepSum));
    };
  },

  row(t, w) {
    const key = rowKey(this, t, w);
    const guard =
      w.oldHash === null
        ? 'spec IS NULL'
        : `sha256(convert_to(CAST(spec AS text), 'UTF8')) = '\\x${w.oldHash.toString('hex')}'`;
    const values = backupKey(this, t, w);
    const wf = this.table(t.workflow);
    // The guard is in the UPDATE too: a row changed after this statement began is read again there.
    return (
      `WITH b AS (INSERT INTO ${this.table(t.backups)} (${BACKUP_COLUMNS.join(', ')})\n` +
      `  SELECT ${values}, CAST(spec AS text), ${this.literal(w.writtenHash)} FROM ${wf} WHERE ${key} AND ${guard} RETURNING 1),\n` +
      `u AS (UPDATE ${wf} SET spec = CAST(${this.literal(w.newSpec)} AS ${specCast(t.specType)}) WHERE ${key} AND ${guard} RETURNING 1)\n` +
      `INSERT INTO ${GUARDED} SELECT true\n` +
      `  WHERE NOT ${GUARD}((SELECT count(*) FROM b) = 1 AND (SELECT count(*) FROM u) = 1, ${this.literal(rowChanged(w))});\n`
    );
  },

  now: () => `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,

  epilogue(t, record) {
    return `${insertRun(this, t, record)}COMMIT;\n`;
  },
};

/** A step row as the text its fingerprint hashes (see `stepRowText`), from its columns c1, c2, … */
function rowText(t: ScriptTarget): string {
  return t.stepColumns
    .map((_, i) => {
      const c = `c${i + 1}`;
      return `CASE WHEN ${c} IS NULL THEN 'N' ELSE 'T' || octet_length(convert_to(${c}, 'UTF8')) || ':' || ${c} END`;
    })
    .join(' || ');
}
