import type { Dialect, TestDatabase } from './databases.js';
import { createTestDatabase, loadSchema } from './databases.js';

/** The start of every generated version-1 workflow spec, up to its `configuration`. */
const SPEC_HEAD = '{"branch": "main", "type_kwargs": {}, "structure": {"steps": [{"class_name": "LLMStep"}]}, ';

/**
 * A genai-factory database of any size, made by set-based SQL (seconds, not minutes): 10 step rows
 * per workflow, 10% of workflows with a second version row, 1% orphans (half with no workflow_id,
 * half pointing at a deleted workflow), kwargs of about 5 keys, a label on every 50th step row.
 * Deterministic: the same size gives the same rows.
 */
export async function generateDatabase(db: TestDatabase, steps: number): Promise<void> {
  await loadSchema(db);
  const k = db.knex();
  const workflows = Math.ceil(steps / 10);
  const sql = dialectSql(db.dialect);
  await k.raw(
    `INSERT INTO ${sql.q('user')} (uid, name, created, spec) VALUES ('u1', 'admin', '2025-01-01 00:00:00', '{}')`,
  );
  await k.raw(
    `INSERT INTO project (uid, version, name, created, spec, source) VALUES ('p1', '1', 'bench', '2025-01-01 00:00:00', '{}', '')`,
  );
  await k.raw(
    `INSERT INTO workflow (project_id, workflow_type, state, version, owner_id, uid, name, created, spec)
     SELECT 'p1', 'application', 'ready', '1', 'u1', ${sql.cat("'wf-'", sql.pad('x'))}, ${sql.cat("'workflow-'", sql.str('x'))},
            ${sql.time('x')}, ${sql.json(sql.cat(`'${SPEC_HEAD}"configuration": {"n": '`, sql.str('x'), `'}}'`))}
     FROM ${sql.seq(workflows)}`,
  );
  await k.raw(
    `INSERT INTO workflow (project_id, workflow_type, state, version, owner_id, uid, name, created, spec)
     SELECT 'p1', 'application', 'ready', '2', 'u1', ${sql.cat("'wf-'", sql.pad('x'))}, ${sql.cat("'workflow-'", sql.str('x'), "'-v2'")},
            ${sql.time('x')}, '{"branch": "main", "type_kwargs": {}, "structure": {}, "configuration": {}}'
     FROM ${sql.seq(workflows)} WHERE ${sql.mod('x', 10)} = 0`,
  );
  const parent = `CASE WHEN ${sql.mod('x', 200)} = 0 THEN NULL WHEN ${sql.mod('x', 100)} = 0 THEN ${sql.cat("'deleted-'", sql.str('x'))}
                  ELSE ${sql.cat("'wf-'", sql.pad(sql.div('x', 10)))} END`;
  await k.raw(
    `INSERT INTO step_configuration (project_id, workflow_id, version, owner_id, uid, name, created, spec)
     SELECT 'p1', ${parent}, '1', 'u1', ${sql.cat("'sc-'", sql.pad('x'))}, ${sql.cat("'step-'", sql.str('x'))}, ${sql.time('x')},
            ${sql.json(
              sql.cat(
                `'{"step_name": "Step'`,
                sql.str(sql.mod('x', 7)),
                `'", "branch": "default", "kwargs": {"k1": '`,
                sql.str('x'),
                `', "k2": "value-'`,
                sql.str('x'),
                `'", "k3": 0.50, "k4": true, "k5": [1, 2.0]}, "evaluations": []}'`,
              ),
            )}
     FROM ${sql.seq(steps)}`,
  );
  await k.raw(
    `INSERT INTO step_configuration_labels (uid, name, value, parent)
     SELECT x + 1, 'tier', 'gold', ${sql.cat("'step-'", sql.str('x'))} FROM ${sql.seq(steps)} WHERE ${sql.mod('x', 50)} = 0`,
  );
}

interface DialectSql {
  q(name: string): string;
  seq(n: number): string;
  str(expr: string): string;
  pad(expr: string): string;
  cat(...parts: string[]): string;
  mod(expr: string, n: number): string;
  div(expr: string, n: number): string;
  time(expr: string): string;
  json(expr: string): string;
}

/** A numbers table 0..n-1 as a FROM clause: digits cross-joined (every database has that). */
function digits(n: number, cast: (expr: string) => string): string {
  const places = Math.max(1, Math.ceil(Math.log10(n)));
  const digit = `(SELECT 0 AS d${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => ` UNION ALL SELECT ${d}`).join('')})`;
  const joins = Array.from({ length: places }, (_, i) => `${digit} d${i}`).join(' CROSS JOIN ');
  const value = Array.from({ length: places }, (_, i) => `d${i}.d * ${10 ** i}`).join(' + ');
  return `(SELECT x FROM (SELECT ${cast(value)} AS x FROM ${joins}) t WHERE x < ${n}) seq`;
}

function dialectSql(dialect: Dialect): DialectSql {
  switch (dialect) {
    case 'sqlite':
      return {
        q: (name) => `"${name}"`,
        seq: (n) =>
          `(WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < ${n - 1}) SELECT x FROM s)`,
        str: (e) => `CAST(${e} AS TEXT)`,
        pad: (e) => `printf('%08d', ${e})`,
        cat: (...p) => p.join(' || '),
        mod: (e, n) => `(${e}) % ${n}`,
        div: (e, n) => `(${e}) / ${n}`,
        time: (e) => `datetime(1735689600 + ${e}, 'unixepoch') || '.000001'`,
        json: (e) => e,
      };
    case 'postgres':
      return {
        q: (name) => `"${name}"`,
        seq: (n) => `generate_series(0, ${n - 1}) AS x`,
        str: (e) => `CAST(${e} AS TEXT)`,
        pad: (e) => `lpad(CAST(${e} AS TEXT), 8, '0')`,
        cat: (...p) => p.join(' || '),
        mod: (e, n) => `(${e}) % ${n}`,
        div: (e, n) => `(${e}) / ${n}`,
        time: (e) => `timestamp '2025-01-01 00:00:00.000001' + ${e} * interval '1 second'`,
        json: (e) => `CAST(${e} AS json)`,
      };
    case 'mysql':
      return {
        q: (name) => `\`${name}\``,
        seq: (n) => digits(n, (v) => v),
        str: (e) => `CAST(${e} AS CHAR)`,
        pad: (e) => `LPAD(CAST(${e} AS CHAR), 8, '0')`,
        cat: (...p) => `CONCAT(${p.join(', ')})`,
        mod: (e, n) => `MOD(${e}, ${n})`,
        div: (e, n) => `FLOOR((${e}) / ${n})`,
        time: (e) => `TIMESTAMP('2025-01-01 00:00:00') + INTERVAL ${e} SECOND`,
        json: (e) => e,
      };
  }
}

/** A fresh generated database of `steps` rows, dropped after `fn`. */
export async function withGenerated<T>(
  dialect: Dialect,
  steps: number,
  fn: (db: TestDatabase) => Promise<T>,
): Promise<T> {
  const db = await createTestDatabase(dialect);
  try {
    await generateDatabase(db, steps);
    return await fn(db);
  } finally {
    await db.drop();
  }
}
