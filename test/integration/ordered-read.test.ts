import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { withDataset, type TestDatabase } from '../support/databases.js';
import type { ReportJson } from '../support/report.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-ordered-');

/**
 * Ids whose order differs between UTF-16 units and code points (U+FF01 sorts before U+1F600 by
 * code point, after it by UTF-16 unit) with a workflow without rows between them, case and space
 * variants, empty and NULL ids, dangling ids among them, and a spec whose bytes are not UTF-8.
 */
function addAwkwardRows(file: string): void {
  const db = new Database(file);
  // As the controller's connections: foreign keys unenforced (the fixture's keys point at non-unique columns).
  db.pragma('foreign_keys = OFF');
  const [wf] = db.prepare("SELECT project_id, owner_id FROM workflow WHERE uid = 'wf-multi'").all() as {
    project_id: string;
    owner_id: string;
  }[];
  const workflow = db.prepare(
    'INSERT INTO workflow (project_id, workflow_type, state, version, owner_id, uid, name, created, spec) ' +
      "VALUES (?, 'application', 'ready', ?, ?, ?, ?, '2025-01-01 00:00:00', '{\"branch\": \"main\"}')",
  );
  const step = db.prepare(
    "INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec) VALUES (?, ?, '1', ?, ?, ?, ?)",
  );
  const ids = ['wf-\uFF01', 'wf-\u{1F600}', 'wf-é', 'WF-É', 'wf-x ', 'wf-x'];
  ids.forEach((id, i) => workflow.run(wf!.project_id, '1', wf!.owner_id, id, `awkward-${i}`));
  workflow.run(wf!.project_id, '2', wf!.owner_id, 'wf-\u{1F600}', 'awkward-v2');
  // A workflow without step rows between two with: the join must pass it by code point.
  workflow.run(wf!.project_id, '1', wf!.owner_id, 'wf-\uFF03', 'awkward-no-steps');
  // And one after every id that has rows: the read of the workflow keys is still open at the end.
  workflow.run(wf!.project_id, '1', wf!.owner_id, 'zz-last-without-steps', 'awkward-last');
  const spec = '{"step_name": "S", "kwargs": {"i": 1}}';
  [...ids, 'wf-gone-\u{1F600}', 'WF-\uFF01', '', null].forEach((id, i) => {
    step.run(wf!.project_id, id, `sc-awkward-${i}`, `awkward-step-${i}`, `2025-02-0${(i % 9) + 1} 00:00:00`, spec);
    step.run(wf!.project_id, id, `sc-awkward-${i}-b`, `awkward-step-${i}-b`, '2025-01-01 00:00:00', spec);
  });
  // `{"step_name": "é"}` with é in Latin-1: a spec that is not UTF-8.
  db.prepare(
    'INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec) ' +
      "VALUES (?, 'wf-é', '1', 'sc-latin1', 'latin1', '2025-01-02 00:00:01', " +
      "CAST(X'7B22737465705F6E616D65223A2022E922207D' AS TEXT))",
  ).run(wf!.project_id);
  db.close();
}

/** The report without what differs between two runs on two files (times, paths, ids). */
function comparable(report: ReportJson): unknown {
  const { summary, orphans, conflicts, invalid, warnings, workflows, exitCode, outcome } = report as ReportJson &
    Record<string, unknown>;
  return { summary, orphans, conflicts, invalid, warnings, workflows, exitCode, outcome };
}

/** Runs the CLI on a file with the SQL log on: the report and the statements sent. */
async function run(file: string, args: string[]): Promise<{ report: ReportJson; sql: string }> {
  const log = `${file}.${args[0]}.log`;
  const result = await cli([...args, '--db', file, '--json', '--quiet', '--skip-invalid'], {
    STEPCFG_SQL_LOG: log,
  });
  expect(result.stderr).toBe('');
  return { report: result.json(), sql: readFileSync(log, 'utf8') };
}

function specsOf(file: string): { uid: string; version: string; spec: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT uid, version, spec FROM workflow ORDER BY uid, version').all() as never;
  } finally {
    db.close();
  }
}

/**
 * Specs of every kind the reading thread reads ahead of the planner (`x` numbers them): in
 * json.dumps form, in other spacing, with number literals json.dumps writes otherwise, non-ASCII
 * text, an escaped key, NaN, a copy of a column that differs, a step name that is no string.
 */
const MANY_SPECS = [
  `'{"step_name": "S", "kwargs": {"x": ' || x || '}}'`,
  `'{"step_name":"S","branch":"b","kwargs":{"x":' || x || '}}'`,
  `'{"step_name": "S", "kwargs": {"y": [1.50, 1e3, -0.0], "x": ' || x || '}}'`,
  `'{"step_name": "S\\u00e9", "branch": "é", "kwargs": {"ü": "✓ ' || x || '"}}'`,
  `'{"step\\u005fname": "S", "kwargs": {"x": ' || x || '}}'`,
  `'{"step_name": "S", "kwargs": {"x": NaN}}'`,
  `'{"step_name": "S", "name": "not-my-name", "kwargs": null}'`,
  `'{"step_name": ' || x || '}'`,
];

/** Enough step rows (2,500 workflows of 10) for the read to go to a thread of its own. */
function addManyRows(file: string): void {
  const db = new Database(file);
  db.pragma('foreign_keys = OFF');
  const spec = `CASE x % ${MANY_SPECS.length} ${MANY_SPECS.map((s, i) => `WHEN ${i} THEN ${s}`).join(' ')} END`;
  db.exec(`
    WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 25000)
    INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec)
    SELECT 'p-cases', 'wf-many-' || (x / 10), '1', 'sc-many-' || x, 'many-' || x, '2025-03-01 00:00:00',
           ${spec} FROM n`);
  db.exec(`
    WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < 2500)
    INSERT INTO workflow (project_id, workflow_type, state, version, owner_id, uid, name, created, spec)
    SELECT 'p-cases', 'application', 'ready', '1', NULL, 'wf-many-' || x, 'many-workflow-' || x,
           '2025-01-01 00:00:00', '{"branch": "main"}' FROM n WHERE x % 7 <> 3`);
  db.close();
}

/** The keyed read starts from the step table's distinct ids; the ordered one on a thread marks its statements. */
const KEYED = /SELECT DISTINCT workflow_id/;
const ON_A_THREAD = /reading thread/;

describe('the ordered read of SQLite', () => {
  for (const size of ['small', 'large'] as const) {
    it(`plans and applies what the keyed read does, on ids that sort apart by code unit and code point (${size} table)`, async () => {
      await withDataset('sqlite', 'cases', async (db: TestDatabase) => {
        addAwkwardRows(db.url);
        if (size === 'large') addManyRows(db.url);
        const ordered = path.join(dir(), `ordered-${size}.db`);
        const keyed = path.join(dir(), `keyed-${size}.db`);
        copyFileSync(db.url, ordered);
        copyFileSync(db.url, keyed);
        // Without an index that gives the rows in workflow_id order, the tool looks them up by id.
        new Database(keyed).exec('DROP INDEX ix_step_configuration_workflow_id').close();

        for (const command of ['plan', 'apply']) {
          const a = await run(ordered, [command]);
          const b = await run(keyed, [command]);
          expect(a.sql).not.toMatch(KEYED);
          expect(b.sql).toMatch(KEYED);
          if (size === 'large') expect(a.sql).toMatch(ON_A_THREAD);
          else expect(a.sql).not.toMatch(ON_A_THREAD);
          expect(comparable(a.report)).toEqual(comparable(b.report));
        }
        const [mine, theirs] = [specsOf(ordered), specsOf(keyed)];
        expect(mine).toEqual(theirs);
        expect(mine.find((w) => w.uid === 'wf-\u{1F600}' && w.version === '2')?.spec).toContain('awkward-step-1-b');
      });
    }, 120_000);
  }
});

describe('the ordered read of SQLite, on ids stored as other than text', () => {
  it('is not used when an id is stored as bytes (it would sort apart from the texts): no rows are read at all', async () => {
    await withDataset('sqlite', 'cases', async (db: TestDatabase) => {
      const raw = new Database(db.url);
      raw.pragma('foreign_keys = OFF');
      // Bytes sort after every text: the greatest id of the index.
      raw.exec(
        'INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec) ' +
          "SELECT project_id, CAST('wf-multi' AS BLOB), '1', 'sc-bytes-id', 'bytes-id', '2025-01-01 00:00:00', " +
          `'{"step_name": "S"}' FROM workflow WHERE uid = 'wf-multi' LIMIT 1`,
      );
      raw.close();
      // No workflow uid equals such an id: the run stops before either read (exit 3, the fix named).
      const log = path.join(dir(), 'bytes.log');
      const run = await cli(['plan', '--db', db.url, '--json', '--quiet'], { STEPCFG_SQL_LOG: log });
      expect(run.code).toBe(3);
      expect(readFileSync(log, 'utf8')).not.toMatch(KEYED);
      expect(readFileSync(log, 'utf8')).not.toMatch(ON_A_THREAD);
    });
  }, 60_000);
});
