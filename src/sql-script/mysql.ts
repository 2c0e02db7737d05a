import { lockName } from '../dialect/mysql/session.js';
import { BACKUP_COLUMNS } from '../dialect/own-tables.js';
import {
  backupKey,
  insertRun,
  rowChanged,
  stepsChanged,
  type RowWrite,
  type ScriptDialect,
  type ScriptTarget,
} from './script-dialect.js';

/** Digits of a slot that holds a count, a sum or a size. */
const NUMBER_SLOT = 24;
/** Ends each statement once the guards' compound statements, which hold `;` inside, begin. */
const END = '$$\n';

/** The escapes of a quoted text, as mysqldump writes them (the server reads backslash escapes; see the prologue). */
const ESCAPES: Record<string, string> = {
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\x1a': '\\Z',
};

const PACKET_TOO_SMALL =
  "stepcfg-migrate: the server's max_allowed_packet is below this script's longest statement; nothing written";
const signal = (message: string) => `SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${mysqlScript.literal(message)}`;

/**
 * The script for the mariadb (or mysql) shell. DDL commits on its own here: the tool's lock is
 * taken first, and its tables are created before the transaction, only where missing. Each
 * row's guard is a compound statement that signals an error, which ends the shell's run.
 */
export const mysqlScript: ScriptDialect = {
  rowHash: 'sha256',

  // Quotes, backslashes, and every character below a space (those without an escape stay as they are).
  literal: (text) => `'${text.replace(/[\\'"]|[^ -\uffff]/g, (c) => ESCAPES[c] ?? c)}'`,

  table: (ref) => (ref.schema ? `\`${ref.schema}\`.\`${ref.table}\`` : `\`${ref.table}\``),

  howToRun: (file) => [
    `mariadb --max-allowed-packet=1G -h HOST -u USER -p DATABASE < ${file}`,
    '(without --force: the shell stops at the first error, and the transaction is rolled back)',
  ],

  autoCommits: () => [
    'On MariaDB/MySQL DDL commits on its own: the two CREATE TABLE IF NOT EXISTS of the tool tables',
    '(stepcfg_migrate_runs, stepcfg_migrate_spec_backups) commit before the transaction begins. They',
    'create only what is missing, and a failed script leaves them empty; running it again is safe.',
  ],

  prologue(t, out) {
    const seconds = Math.max(1, Math.ceil(t.lockTimeoutMs / 1000));
    out.write(
      'SET NAMES utf8mb4;\n' +
        // The texts below are written with backslash escapes, as mysqldump writes them.
        "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','));\n" +
        'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n' +
        `SET SESSION innodb_lock_wait_timeout = ${seconds}, SESSION lock_wait_timeout = ${seconds};\n` +
        'DELIMITER $$\n' +
        'BEGIN NOT ATOMIC\n  IF @@max_allowed_packet < ',
    );
    const packet = out.slot(NUMBER_SLOT);
    out.write(
      `THEN ${signal(PACKET_TOO_SMALL)}; END IF;\n` +
        `  IF GET_LOCK(${this.literal(lockName(t.lockKey))}, ${seconds}) IS NOT TRUE THEN\n` +
        `    ${signal(`stepcfg-migrate: another run holds the lock (waited ${seconds} s); nothing written`)}; END IF;\n` +
        `END${END}` +
        '-- These two commit on their own (DDL), and only create what is missing.\n' +
        t.ownTables.map((s) => s + END).join('') +
        `START TRANSACTION${END}`,
    );
    out.write('-- The step table must hold exactly the rows the plan read (their count and hash sum);\n');
    out.write('-- the locking read keeps it so until the commit.\n');
    out.write('BEGIN NOT ATOMIC\n  DECLARE n BIGINT; DECLARE s DECIMAL(65, 0);\n');
    out.write(
      `  SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(SHA2(${rowText(t)}, 256), 10), 16, 10) AS UNSIGNED)), 0)\n`,
    );
    out.write(`    INTO n, s FROM ${this.table(t.step)} LOCK IN SHARE MODE;\n  IF n <> `);
    const rows = out.slot(NUMBER_SLOT);
    out.write('OR s <> ');
    const sum = out.slot(NUMBER_SLOT);
    out.write(`THEN ${signal(stepsChanged(t))}; END IF;\nEND${END}`);
    return (facts) => {
      out.fill(packet, String(facts.largestStatement + 1024));
      out.fill(rows, String(facts.stepRows));
      out.fill(sum, String(facts.stepSum));
    };
  },

  row(t, w) {
    const key = keyOf(this, t, w);
    const guard =
      w.oldHash === null ? 'spec IS NULL' : `SHA2(CONVERT(spec USING utf8mb4), 256) = '${w.oldHash.toString('hex')}'`;
    const values = backupKey(this, t, w);
    const wf = this.table(t.workflow);
    return (
      'BEGIN NOT ATOMIC\n' +
      `  INSERT INTO ${this.table(t.backups)} (${BACKUP_COLUMNS.join(', ')})\n` +
      `    SELECT ${values}, spec, ${this.literal(w.writtenHash)} FROM ${wf} WHERE ${key} AND ${guard};\n` +
      `  IF ROW_COUNT() <> 1 THEN ${signal(rowChanged(w))}; END IF;\n` +
      `  UPDATE ${wf} SET spec = ${this.literal(w.newSpec)} WHERE ${key};\n` +
      `END${END}`
    );
  },

  now: () => "CONCAT(SUBSTR(DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%f'), 1, 23), 'Z')",

  epilogue(t, record) {
    return (
      insertRun(this, t, record, END) +
      `COMMIT${END}` +
      `DO RELEASE_LOCK(${this.literal(lockName(t.lockKey))})${END}` +
      'DELIMITER ;\n'
    );
  },
};

/** The row's key, as the tool's writes match it: BINARY, so that a case-insensitive collation matches no neighbour. */
function keyOf(d: ScriptDialect, t: ScriptTarget, w: RowWrite): string {
  const eq = (column: string, value: string) =>
    `${column} = ${d.literal(value)} AND BINARY ${column} = BINARY ${d.literal(value)}`;
  return t.hasVersion ? `${eq('uid', w.uid)} AND ${eq('version', w.version)}` : eq('uid', w.uid);
}

/** A step row as the text its fingerprint hashes (see `stepRowText`), each column as the tool reads it. */
function rowText(t: ScriptTarget): string {
  const parts = t.stepColumns.map(({ column, field }) => {
    const text =
      field === 'version'
        ? `COALESCE(CONVERT(\`${column}\` USING utf8mb4), '')`
        : `CONVERT(\`${column}\` USING utf8mb4)`;
    return `IF(${text} IS NULL, 'N', CONCAT('T', OCTET_LENGTH(${text}), ':', ${text}))`;
  });
  return `CONCAT(${parts.join(', ')})`;
}
