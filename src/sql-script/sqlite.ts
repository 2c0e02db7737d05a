import { BACKUP_COLUMNS } from '../dialect/own-tables.js';
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

/** Digits of a slot that holds a count or a sum (2^63 has 19). */
const NUMBER_SLOT = 20;

/**
 * The script for the sqlite3 shell. `BEGIN IMMEDIATE` is the tool's lock (the file's write lock),
 * `.timeout` how long it waits for it. SQLite 3.40's RAISE takes a fixed message only, so a guard
 * fails through `json_extract` with the message as its path: the error quotes it, naming the row.
 */
export const sqliteScript: ScriptDialect = {
  rowHash: 'sha3-256',

  literal(text) {
    // The shell reads a NUL or a carriage return of a quoted text as its own: those go as bytes.
    if (/[\0\r]/.test(text)) return `CAST(X'${Buffer.from(text, 'utf8').toString('hex')}' AS TEXT)`;
    return `'${text.replace(/'/g, "''")}'`;
  },

  table: (ref) => `"${ref.table}"`,

  howToRun: (file) => [`sqlite3 -bail DATABASE_FILE < ${file}`],

  autoCommits: () => ['Nothing commits before the end: the tool tables are created inside the transaction.'],

  prologue(t, out) {
    out.write(
      '.bail on\n' +
        `.timeout ${Math.round(t.lockTimeoutMs)}\n` +
        // As the tool runs: the controller's schema has foreign keys SQLite would refuse writes by.
        'PRAGMA foreign_keys = OFF;\n' +
        'BEGIN IMMEDIATE;\n' +
        t.ownTables.map((s) => `${s};\n`).join(''),
    );
    out.write(`-- The step table must hold exactly the rows the plan read (their count and hash sum).\n`);
    out.write(`SELECT json_extract('{}', ${this.literal(stepsChanged(t))}) WHERE NOT EXISTS (SELECT 1 FROM (\n`);
    // `LIMIT -1` keeps SQLite from merging the hashes' query into the sum, which would hash each
    // row once for every one of the ten digits it reads.
    out.write(`  SELECT count(*) AS n, coalesce(sum(${hexValue('h')}), 0) AS s\n`);
    out.write(`  FROM (SELECT hex(sha3(${rowText(t)})) AS h\n`);
    out.write(`        FROM (SELECT ${stepColumnTexts(t)} FROM ${this.table(t.step)}) LIMIT -1))\n  WHERE n = `);
    const rows = out.slot(NUMBER_SLOT);
    out.write(' AND s = ');
    const sum = out.slot(NUMBER_SLOT);
    out.write(');\n');
    return (facts) => {
      out.fill(rows, String(facts.stepRows));
      out.fill(sum, String(facts.stepSum));
    };
  },

  row(t, w) {
    const key = rowKey(this, t, w);
    const guard = w.oldHash === null ? 'spec IS NULL' : `sha3(CAST(spec AS BLOB)) = X'${w.oldHash.toString('hex')}'`;
    const values = backupKey(this, t, w);
    return (
      `INSERT INTO ${this.table(t.backups)} (${BACKUP_COLUMNS.join(', ')})\n` +
      `  SELECT ${values}, spec, ${this.literal(w.writtenHash)} FROM ${this.table(t.workflow)} WHERE ${key} AND ${guard};\n` +
      `SELECT json_extract('{}', ${this.literal(rowChanged(w))}) WHERE changes() <> 1;\n` +
      `UPDATE ${this.table(t.workflow)} SET spec = ${this.literal(w.newSpec)} WHERE ${key};\n`
    );
  },

  now: () => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",

  epilogue(t, record) {
    return `${insertRun(this, t, record)}COMMIT;\n`;
  },
};

/** A step row as the text its fingerprint hashes (see `stepRowText`), from its columns c1, c2, … */
function rowText(t: ScriptTarget): string {
  return t.stepColumns
    .map(
      (_, i) =>
        `CASE WHEN c${i + 1} IS NULL THEN 'N' ELSE 'T' || length(CAST(c${i + 1} AS BLOB)) || ':' || c${i + 1} END`,
    )
    .join(' || ');
}

/** The 40-bit integer of the first ten hex digits of the column `h` (SQLite 3.40 parses no hex). */
function hexValue(h: string): string {
  const digits = Array.from(
    { length: 10 },
    (_, i) => `(instr('0123456789ABCDEF', substr(${h}, ${i + 1}, 1)) - 1) * ${16 ** (9 - i)}`,
  );
  return digits.join(' + ');
}
