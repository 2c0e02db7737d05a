import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, type CliResult } from '../support/cli.js';
import { dumpDatabase, listTables, withDataset, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-plan-files-');
let files = 0;
const freshFile = (name: string) => join(dir(), `${files++}-${name}`);

const run = (args: string[]) => cli([...args, '--json', '--quiet']);

/** A run that must go through: exit 0, nothing on stderr; its report. */
async function ok(args: string[]) {
  const done = await run(args);
  expect(done.stderr).toBe('');
  expect(done.code).toBe(0);
  return done.json();
}

/** Writes the plan of `db` to a fresh file; returns its path and the report that wrote it. */
async function planOut(db: TestDatabase, flags: string[] = []) {
  const file = freshFile('fold.plan');
  const report = await ok(['plan', '--db', db.url, ...flags, '--out', file]);
  return { file, report };
}

/** Whether the tool left any table of its own (a run that exits non-zero leaves none). */
async function toolTables(db: TestDatabase): Promise<string[]> {
  return (await listTables(db)).filter((t) => t.startsWith('stepcfg_migrate_'));
}

/** Asserts a refused run: its exit code, one line on stderr, and the database as it was. */
async function refusedUnchanged(db: TestDatabase, args: string[], code: number): Promise<CliResult> {
  const before = await dumpDatabase(db);
  const tablesBefore = await toolTables(db);
  const done = await run(args);
  expect(done.code, done.stderr).toBe(code);
  expect(await dumpDatabase(db)).toBe(before);
  expect(await toolTables(db)).toEqual(tablesBefore);
  return done;
}

/** The spec of a JSON column as text, whatever the driver made of it. */
const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** A step row the sample folds into a workflow: its key. */
async function foldedStep(db: TestDatabase): Promise<{ uid: string; version: string }> {
  const k = db.knex();
  const row = (await k('step_configuration')
    .whereIn('workflow_id', k('workflow').select('uid'))
    .orderBy('uid')
    .first('uid', 'version')) as { uid: string; version: string };
  return { uid: String(row.uid), version: String(row.version) };
}

/** A workflow the sample folds rows into: its key. */
async function foldedWorkflow(db: TestDatabase): Promise<{ uid: string; version: string }> {
  const k = db.knex();
  const row = (await k('workflow')
    .whereIn('uid', k('step_configuration').select('workflow_id'))
    .orderBy('uid')
    .first('uid', 'version')) as { uid: string; version: string };
  return { uid: String(row.uid), version: String(row.version) };
}

/** A copy of a folded step row under a new uid and name: a row added after the plan. */
async function insertStep(db: TestDatabase): Promise<{ uid: string; version: string }> {
  const k = db.knex();
  const key = await foldedStep(db);
  const row = (await k('step_configuration').where(key).first()) as Record<string, unknown>;
  const added = { ...row, uid: 'added-after-the-plan', name: 'added-after-the-plan', spec: asText(row.spec) };
  await k('step_configuration').insert(added);
  return { uid: 'added-after-the-plan', version: key.version };
}

const key = (k: { uid: string; version: string }) => ({ uid: k.uid, version: k.version });

/**
 * Step rows a fingerprint must carry exactly: 10 MB of kwargs, `__proto__` keys, numbers beyond
 * 2^53, quotes, backslashes, escaped NUL, non-ASCII; and ids that differ from a workflow's only by
 * case or trailing spaces (one row each way, which MariaDB's collation holds equal to the workflow's).
 */
async function hostileRows(db: TestDatabase): Promise<void> {
  const k = db.knex();
  const { uid, project_id } = (await k('workflow')
    .whereIn('uid', k('step_configuration').select('workflow_id'))
    .orderBy('uid')
    .first('uid', 'project_id')) as { uid: string; project_id: string };
  const specs = [
    `{"step_name": "S", "kwargs": {"blob": "${'x'.repeat(10 * 1024 * 1024)}"}}`,
    '{"step_name": "S", "kwargs": {"__proto__": {"polluted": 1}, "n": 123456789012345678901234567890, "f": 1.0}}',
    '{"step_name": "S\\u0000\\"q\\\\", "branch": "é-名", "kwargs": {"s": "\\u0000 \'quoted\' \\\\"}}',
  ];
  const rows = [
    ...specs.map((spec, n) => ({ workflow_id: uid, name: `hostile-${n}`, spec })),
    { workflow_id: uid.toUpperCase(), name: 'upper-case-id', spec: specs[1]! },
    { workflow_id: `${uid}  `, name: 'trailing-spaces-id', spec: specs[1]! },
  ];
  for (const [n, row] of rows.entries()) {
    await k('step_configuration').insert({
      ...row,
      project_id,
      version: '1',
      uid: `sc-hostile-${n}`,
      created: `2025-01-01 00:00:0${n}`,
    });
  }
}

describeEachDialect('plan files', (dialect, need) => {
  it('plan --out, no change, apply --plan: the database a plain apply gives, the plan named in the report and in runs', async (ctx) => {
    need(ctx);
    const plain = await withDataset(dialect, 'sample', async (db) => {
      const report = await ok(['apply', '--db', db.url]);
      return { dump: await dumpDatabase(db), summary: report.summary };
    });
    await withDataset(dialect, 'sample', async (db) => {
      const { file, report: planned } = await planOut(db);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
      expect(planned.planFile).toEqual({ path: file, sha256 });
      expect(await toolTables(db)).toEqual([]);

      const applied = await ok(['apply', '--db', db.url, '--plan', file]);
      expect(applied.planFile).toEqual({ path: file, sha256 });
      expect(applied.summary).toEqual(plain.summary);
      expect(applied.summary).toEqual(planned.summary);
      expect(await dumpDatabase(db)).toBe(plain.dump);

      const runs = await ok(['runs', '--db', db.url]);
      expect(runs.runs!.map((r) => r.planFile)).toEqual([{ path: file, sha256 }]);
    });
  });

  it('hostile rows and ids that differ only by case: apply --plan gives what a plain apply gives', async (ctx) => {
    need(ctx);
    const plain = await withDataset(dialect, 'sample', async (db) => {
      await hostileRows(db);
      await ok(['apply', '--db', db.url]);
      return dumpDatabase(db);
    });
    await withDataset(dialect, 'sample', async (db) => {
      await hostileRows(db);
      const { file } = await planOut(db);
      // Hashes, not specs: the 10 MB row adds a line of a few dozen bytes.
      expect(statSync(file).size).toBeLessThan(64 * 1024);
      await ok(['apply', '--db', db.url, '--plan', file]);
      expect(await dumpDatabase(db)).toBe(plain);
    });
  });

  for (const change of [
    {
      name: '(a) a step row inserted',
      make: (db: TestDatabase) => insertStep(db),
      where: 'stepRows.added',
    },
    {
      name: "(b) a step row's spec edited",
      make: async (db: TestDatabase) => {
        const step = await foldedStep(db);
        const spec = '{"step_name": "edited-after-the-plan", "branch": "default", "kwargs": {}}';
        await db.knex()('step_configuration').where(step).update({ spec });
        return step;
      },
      where: 'stepRows.changed',
    },
    {
      name: "(c) a workflow's spec edited",
      make: async (db: TestDatabase) => {
        const workflow = await foldedWorkflow(db);
        await db.knex()('workflow').where(workflow).update({ spec: '{"branch": "edited-after-the-plan"}' });
        return workflow;
      },
      where: 'workflowRows.changed',
    },
    {
      name: '(d) a step row deleted',
      make: async (db: TestDatabase) => {
        const step = await foldedStep(db);
        await db.knex()('step_configuration').where(step).delete();
        return step;
      },
      where: 'stepRows.removed',
    },
  ]) {
    it(`${change.name} after the plan: apply --plan exits 3, names the row, writes nothing`, async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const { file } = await planOut(db);
        const changed = await change.make(db);
        const done = await refusedUnchanged(db, ['apply', '--db', db.url, '--plan', file], 3);
        const report = done.json();
        expect(report.outcome).toBe('blocked');
        expect(report.blockers[0]).toMatch(/changed since the plan/);
        const [group, kind] = change.where.split('.') as ['stepRows' | 'workflowRows', 'added' | 'removed' | 'changed'];
        const list = report.planDiff![group][kind];
        expect(list.count).toBe(1);
        expect(list.keys).toEqual([key(changed)]);
        // The human report names the row too.
        const human = await cli(['apply', '--db', db.url, '--plan', file]);
        expect(human.code).toBe(3);
        expect(human.stdout).toContain(changed.uid);
      });
    });
  }

  it("a workflow's new spec differs when its step row's content changes: listed among the results", async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const { file } = await planOut(db);
      const step = await foldedStep(db);
      const spec = '{"step_name": "edited-after-the-plan", "branch": "default", "kwargs": {}}';
      await db.knex()('step_configuration').where(step).update({ spec });
      const report = (await refusedUnchanged(db, ['apply', '--db', db.url, '--plan', file], 3)).json();
      const { workflow_id: parent } = (await db.knex()('step_configuration').where(step).first('workflow_id')) as {
        workflow_id: string;
      };
      expect(report.planDiff!.results.count).toBeGreaterThan(0);
      expect(report.planDiff!.results.keys.every((k) => k.uid === parent)).toBe(true);
    });
  });

  it('a damaged plan, another database, another major version, flags that disagree: exit 2, one line, nothing written', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const { file } = await planOut(db);
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n');

      const damaged = freshFile('damaged.plan');
      // One character of one entry's fingerprint changed: the file still parses.
      writeFileSync(
        damaged,
        text.replace(
          lines[2]!,
          lines[2]!.replace(
            /"([A-Za-z0-9_-])([A-Za-z0-9_-]{21})"\]$/,
            (_, c: string, rest: string) => `"${c === 'A' ? 'B' : 'A'}${rest}"]`,
          ),
        ),
      );
      expect(readFileSync(damaged, 'utf8')).not.toBe(text);
      const cut = freshFile('cut.plan');
      writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
      const newer = freshFile('major.plan');
      writeFileSync(newer, text.replace(/"toolVersion":"[^"]+"/, '"toolVersion":"99.0.0"'));

      for (const [args, message] of [
        [['--plan', damaged], /is damaged/],
        [['--plan', cut], /is damaged/],
        [['--plan', newer], /another major version/],
        [['--plan', file, '--on-conflict', 'replace'], /--on-conflict replace disagrees with the plan's fail/],
        [['--plan', file, '--strict'], /--strict on disagrees/],
        [['--plan', file, '--workflow-table', 'other_workflow'], /--workflow-table/],
      ] as const) {
        const done = await refusedUnchanged(db, ['apply', '--db', db.url, ...args], 2);
        expect(done.stderr.trim().split('\n')).toHaveLength(1);
        expect(done.stderr).toMatch(message);
        expect(done.stderr).not.toMatch(/\n\s+at /);
      }

      await withDataset(dialect, 'sample', async (other) => {
        const done = await refusedUnchanged(other, ['apply', '--db', other.url, '--plan', file], 2);
        expect(done.stderr).toMatch(/made for another database/);
      });
    });
  });

  it('--drop-table in a plan still needs --yes without a terminal; with it the plan is carried out', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const orphans = freshFile('left.json');
      const { file } = await planOut(db, ['--drop-table', '--orphans-out', orphans]);
      const refused = await refusedUnchanged(db, ['apply', '--db', db.url, '--plan', file], 3);
      expect(refused.stderr).toMatch(/--yes/);
      const applied = await ok(['apply', '--db', db.url, '--plan', file, '--yes']);
      expect(applied.summary.tableDropped).toBe(true);
      expect(applied.drop!.orphansFile).toBe(orphans);
      expect(await listTables(db)).not.toContain('step_configuration');
    });
  });

  it('the plan file holds no password; its header names the database as the report does', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      // PostgreSQL under trust takes any password: one in the URL must not reach the file.
      const url = dialect === 'postgres' ? db.url.replace('postgres@', 'postgres:Pl4n-S3cret@') : db.url;
      if (dialect === 'postgres') expect(url).toContain('Pl4n-S3cret');
      const file = freshFile('secret.plan');
      const report = await ok(['plan', '--db', url, '--out', file]);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('Pl4n-S3cret');
      const header = JSON.parse(text.split('\n')[0]!) as { database: { url: string } };
      expect(header.database.url).toBe(report.database.url);
    });
  });

  it('rollback --dry-run --out, rollback --plan: the database as before the apply; after drift, exit 3 naming the row', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpDatabase(db);
      await ok(['apply', '--db', db.url]);
      const file = freshFile('rollback.plan');
      const planned = await ok(['rollback', '--db', db.url, '--dry-run', '--out', file]);
      expect(planned.planFile?.path).toBe(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // A fold's plan is not a rollback's, and the other way round.
      await refusedUnchanged(db, ['apply', '--db', db.url, '--plan', file], 2);

      const done = await ok(['rollback', '--db', db.url, '--plan', file, '--yes']);
      expect(done.rollback!.workflowsRestored).toBe(planned.rollback!.workflowsToRestore);
      expect(await dumpDatabase(db)).toBe(before);
      // The run is rolled back now: the same plan again is not what would happen.
      await refusedUnchanged(db, ['rollback', '--db', db.url, '--plan', file, '--yes'], 3);

      await ok(['apply', '--db', db.url]);
      const again = freshFile('rollback-again.plan');
      await ok(['rollback', '--db', db.url, '--dry-run', '--out', again]);
      const workflow = await foldedWorkflow(db);
      const k = db.knex();
      const row = (await k('workflow').where(workflow).first('spec')) as { spec: unknown };
      // An edit after the rollback was planned: the plan no longer holds.
      await k('workflow')
        .where(workflow)
        .update({ spec: asText(row.spec).replace('{', '{ "edited": 1, ') });
      const drifted = (await refusedUnchanged(db, ['rollback', '--db', db.url, '--plan', again, '--yes'], 3)).json();
      expect(drifted.planDiff!.workflowRows.changed.keys).toEqual([key(workflow)]);
    });
  });

  it('the rollback of a run that dropped the tables: rollback --plan brings them back as planned', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpDatabase(db);
      const orphans = freshFile('left.json');
      await ok(['apply', '--db', db.url, '--drop-table', '--orphans-out', orphans, '--yes']);
      const file = freshFile('undo-drop.plan');
      const planned = await ok(['rollback', '--db', db.url, '--dry-run', '--out', file]);
      expect(planned.rollback!.tables.map((t) => t.table).sort()).toEqual([
        'step_configuration',
        'step_configuration_labels',
      ]);
      const trailer = JSON.parse(readFileSync(file, 'utf8').trimEnd().split('\n').at(-2)!) as {
        rollback: { tables: unknown };
      };
      expect(trailer.rollback.tables).toEqual(planned.rollback!.tables);
      await ok(['rollback', '--db', db.url, '--plan', file, '--yes']);
      expect(await dumpDatabase(db)).toBe(before);
    });
  });
});
