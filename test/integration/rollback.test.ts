import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { datasetRows } from '../support/datasets.js';
import {
  dumpDatabase,
  listTables,
  readWorkflowSpecs,
  sqliteDotDump,
  withDataset,
  type TestDatabase,
} from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { withGenerated } from '../support/generate.js';
import type { OrphansFileJson } from '../support/report.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-rollback-');
let files = 0;
const freshFile = (name: string) => join(dir(), `${files++}-${name}`);

const STEP_TABLES = ['step_configuration', 'step_configuration_labels'];
/** The flags each dataset needs for its apply to go through (and its drop, with an orphans file). */
const FIXTURES: Record<string, string[]> = {
  sample: [],
  cases: [],
  conflict: ['--on-conflict', 'keep'],
  invalid: ['--skip-invalid'],
  empty: [],
};

/** Everything but the tool's own tables, with definitions; on SQLite also the sqlite3 .dump text. */
async function snapshot(db: TestDatabase): Promise<string> {
  const dump = await dumpDatabase(db);
  return db.dialect === 'sqlite' ? dump + sqliteDotDump(db.url, STEP_TABLES) : dump;
}

const ok = async (args: string[]) => {
  const run = await cli([...args, '--json', '--quiet']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.json();
};

describeEachDialect('backups, drop and rollback', (dialect, need) => {
  for (const [fixture, flags] of Object.entries(FIXTURES)) {
    it(`${fixture}: apply + rollback, and apply + drop + rollback, give back every table exactly`, async (ctx) => {
      need(ctx);
      await withDataset(dialect, fixture, async (db) => {
        const before = await snapshot(db);
        await ok(['--db', db.url, ...flags]);
        await ok(['--db', db.url, '--rollback', '--yes']);
        expect(await snapshot(db)).toBe(before);

        const orphans = freshFile('orphans.json');
        const applied = await ok(['--db', db.url, ...flags, '--drop-table', '--yes', '--orphans-out', orphans]);
        expect(applied.summary.tableDropped).toBe(true);
        expect(await listTables(db)).not.toContain('step_configuration');
        expect(await listTables(db)).not.toContain('step_configuration_labels');
        const rolledBack = await ok(['--db', db.url, '--rollback', '--yes']);
        expect(rolledBack.rollback!.tablesRestored.sort()).toEqual(STEP_TABLES);
        expect(await snapshot(db)).toBe(before);
      });
    });
  }

  it('the orphans file holds every row the fold leaves, every column and its labels, mode 0600', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'invalid', async (db) => {
      const file = freshFile('left.json');
      const report = await ok(['--db', db.url, '--skip-invalid', '--drop-table', '--yes', '--orphans-out', file]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const exported = JSON.parse(readFileSync(file, 'utf8')) as OrphansFileJson;
      const expectedUids = report.invalid.map((i) => i.uid).sort();
      expect(exported.rows.map((r) => r.columns.uid).sort()).toEqual(expectedUids);
      const source = datasetRows('invalid', dialect).step_configuration!;
      for (const row of exported.rows) {
        const original = source.find((s) => s.uid === row.columns.uid)!;
        expect(row.reason).toMatch(/^invalid: /);
        expect(row.columns.spec).toBe(original.spec);
        expect(row.columns.name).toBe(original.name);
        expect(Object.keys(row.columns).sort()).toEqual(Object.keys(original).sort());
      }
    });
    await withDataset(dialect, 'sample', async (db) => {
      const file = freshFile('orphans.json');
      await ok(['--db', db.url, '--drop-table', '--yes', '--orphans-out', file]);
      const exported = JSON.parse(readFileSync(file, 'utf8')) as OrphansFileJson;
      const source = datasetRows('sample', dialect);
      const orphanUids = source
        .step_configuration!.filter((s) => !source.workflow!.some((w) => w.uid === s.workflow_id))
        .map((s) => s.uid);
      expect(exported.rows.map((r) => r.columns.uid).sort()).toEqual(orphanUids.sort());
      const labelsOf = (name: unknown) =>
        source.step_configuration_labels!.filter((l) => l.parent === name).map((l) => String(l.uid));
      for (const row of exported.rows) {
        expect(row.reason).toMatch(/^orphan: (no_workflow_id|workflow_not_found)$/);
        expect(row.labels.map((l) => l.uid).sort()).toEqual(labelsOf(row.columns.name).sort());
      }
    });
  });

  it('each refusal writes nothing: rows to lose, no --yes, a foreign key, an existing orphans file', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const all = () => dumpDatabase(db, { exclude: () => false });
      const before = await all();
      const lose = await cli(['--db', db.url, '--drop-table', '--yes', '--json']);
      expect(lose.code).toBe(3);
      expect(lose.json().blockers.join()).toContain('--orphans-out');
      const unconfirmed = await cli(['--db', db.url, '--drop-table', '--orphans-out', freshFile('o.json'), '--json']);
      expect(unconfirmed.code).toBe(3);
      // Off a terminal the refusal comes before connecting: the JSON error, no plan.
      const refusal = JSON.parse(unconfirmed.stdout) as { error: { message: string; exitCode: number } };
      expect(refusal.error).toMatchObject({ exitCode: 3, message: expect.stringContaining('needs --yes') });
      const existing = freshFile('exists.json');
      writeFileSync(existing, 'keep me');
      const clobber = await cli(['--db', db.url, '--drop-table', '--yes', '--orphans-out', existing]);
      expect(clobber.code).toBe(2);
      expect(readFileSync(existing, 'utf8')).toBe('keep me');
      expect(await all()).toBe(before);

      await db.knex().schema.createTable('step_notes', (t) => {
        t.string('id', 64).primary();
        t.string('step_name', 255).references('name').inTable('step_configuration');
      });
      const withFk = await all();
      const fk = await cli(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json'), '--json']);
      expect(fk.code).toBe(3);
      expect(fk.json().blockers.join()).toMatch(/step_notes references step_configuration/);
      expect(await all()).toBe(withFk);
    });
  });

  it('a workflow edited after the run: rollback refuses and names it; --force keeps the later edit', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const specsBefore = await readWorkflowSpecs(db);
      const applied = await ok(['--db', db.url]);
      const edited = applied.workflows[0]!;
      const k = db.knex();
      const [row] = await k('workflow').where({ uid: edited.uid, version: edited.version }).select('spec');
      const spec = typeof row.spec === 'string' ? JSON.parse(row.spec) : row.spec;
      await k('workflow')
        .where({ uid: edited.uid, version: edited.version })
        .update({ spec: JSON.stringify({ ...spec, branch: 'edited-later' }) });

      const frozen = await dumpDatabase(db, { exclude: () => false });
      const refused = await cli(['--db', db.url, '--rollback', '--yes', '--json']);
      expect(refused.code).toBe(3);
      expect(refused.json().rollback!.drifted).toEqual([
        expect.objectContaining({ uid: edited.uid, version: edited.version }),
      ]);
      expect(refused.json().blockers.join()).toContain(edited.uid);
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(frozen);

      const forced = await ok(['--db', db.url, '--rollback', '--yes', '--force']);
      expect(forced.rollback).toMatchObject({ forced: 1, workflowsRestored: applied.summary.workflowsUpdated - 1 });
      const after = await readWorkflowSpecs(db);
      for (const s of after) {
        const original = specsBefore.find((b) => b.uid === s.uid && b.version === s.version)!;
        if (s.uid === edited.uid && s.version === edited.version) {
          const parsed = JSON.parse(s.spec!);
          expect(parsed.branch).toBe('edited-later');
          expect(parsed.step_configurations).toBeUndefined();
          expect({ ...parsed, branch: JSON.parse(original.spec!).branch }).toEqual(JSON.parse(original.spec!));
        } else {
          expect(s.spec).toBe(original.spec);
        }
      }
    });
  });

  it('a rollback of thousands of rows with a report records its run (the rows stay in the report)', async (ctx) => {
    need(ctx);
    await withGenerated(dialect, 30_000, async (db) => {
      expect((await cli(['apply', '--db', db.url, '--json', '--quiet'])).code).toBe(0);
      const report = freshFile('rollback-report.json');
      const undone = await cli(['rollback', '--db', db.url, '--yes', '--quiet', '--report', report]);
      expect(undone.stderr).toBe('');
      expect(undone.code).toBe(0);
      const written = JSON.parse(readFileSync(report, 'utf8')) as { rollback: { workflows: unknown[] } };
      expect(written.rollback.workflows).toHaveLength(3_300);
      const runs = (await cli(['runs', '--db', db.url, '--json'])).json().runs!;
      expect(runs.map((r) => r.mode)).toEqual(expect.arrayContaining(['rollback']));
    });
  }, 120_000);

  it('rolling back twice, or with nothing to undo, is a clear no-op; status tells what can be rolled back', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      expect((await ok(['--db', db.url, '--rollback', '--yes'])).rollback!.message).toBe('nothing to roll back');
      const applied = await ok(['--db', db.url]);
      await ok(['--db', db.url]); // a re-run changes nothing and is not what a rollback undoes
      const status = await cli(['status', '--db', db.url, '--json']);
      expect(status.json().runs!.map((r) => [r.id === applied.runId, r.canRollBack])).toEqual([
        [true, true],
        [false, false],
      ]);
      const first = await ok(['--db', db.url, '--rollback', '--yes', '--run', applied.runId.slice(0, 8)]);
      expect(first.rollback!.run).toBe(applied.runId);
      const before = await dumpDatabase(db, { exclude: () => false });
      const second = await ok(['--db', db.url, '--rollback', '--yes', '--run', applied.runId]);
      expect(second.outcome).toBe('nothing-to-do');
      expect(second.rollback!.message).toContain('already rolled back');
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
      const unknown = await cli(['--db', db.url, '--rollback', '--yes', '--run', 'feedface']);
      expect(unknown.code).toBe(2);
    });
  });

  it('rollback goes newest first: an older run is refused while a later one stands', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const first = await ok(['--db', db.url]);
      const k = db.knex();
      await k('step_configuration').insert({
        ...(await k('step_configuration').where({ name: 'support-bot-llm' }).first()),
        uid: 'sc-added-later',
        name: 'added-later',
      });
      const second = await ok(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json')]);
      const before = await dumpDatabase(db, { exclude: () => false });
      const refused = await cli(['--db', db.url, '--rollback', '--yes', '--run', first.runId, '--json']);
      expect(refused.code).toBe(3);
      expect(refused.json().blockers.join()).toContain(`run ${second.runId} applied after run ${first.runId}`);
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
      expect((await ok(['--db', db.url, '--rollback', '--yes'])).rollback!.run).toBe(second.runId);
      expect((await ok(['--db', db.url, '--rollback', '--yes'])).rollback!.run).toBe(first.runId);
    });
  });

  it('a pending drop is not finished when rows changed after the fold', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const applied = await ok(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json')]);
      const k = db.knex();
      const [kept] = await k('stepcfg_migrate_runs')
        .where({ id: applied.runId })
        .select('kept_step_table', 'kept_labels_table');
      await k('stepcfg_migrate_runs').where({ id: applied.runId }).update({ status: 'folded', table_dropped: 0 });
      await k.schema.renameTable(kept.kept_labels_table, 'step_configuration_labels');
      await k.schema.renameTable(kept.kept_step_table, 'step_configuration');
      const row = await k('step_configuration').where({ name: 'support-bot-llm' }).first();
      await k('step_configuration').insert({ ...row, uid: 'sc-late', name: 'late-arrival' });
      const rerun = await ok(['--db', db.url]);
      expect(rerun.notes.join()).toContain(`did not drop step_configuration for run ${applied.runId}`);
      expect(rerun.summary.folded).toBe(1); // and the late row is folded now
      expect(await listTables(db)).toContain('step_configuration');
    });
  });

  if (dialect === 'sqlite') {
    it('--backup-file copies the whole database (mode 0600) before writing, and only for a run that goes through', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'conflict', async (db) => {
        const blockedCopy = freshFile('blocked.db');
        expect((await cli(['--db', db.url, '--backup-file', blockedCopy])).code).toBe(3);
        expect(existsSync(blockedCopy)).toBe(false);
        const before = await snapshot(db);
        const beforeText = sqliteDotDump(db.url, ['workflow', ...STEP_TABLES]);
        const copy = freshFile('copy.db');
        await ok(['--db', db.url, '--on-conflict', 'keep', '--backup-file', copy]);
        expect(statSync(copy).mode & 0o777).toBe(0o600);
        expect(sqliteDotDump(copy, ['workflow', ...STEP_TABLES])).toBe(beforeText);
        const folded = sqliteDotDump(db.url, ['workflow']);
        const rollbackCopy = freshFile('before-rollback.db');
        await ok(['--db', db.url, '--rollback', '--yes', '--backup-file', rollbackCopy]);
        expect(sqliteDotDump(rollbackCopy, ['workflow'])).toBe(folded);
        expect(await snapshot(db)).toBe(before);
      });
    });
  }

  it('cleanup removes every table of the tool and nothing else, after which nothing can be rolled back', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      // Without the lines that name the tool's tables (foreign keys of kept tables that point elsewhere).
      const dump = async () =>
        (await dumpDatabase(db))
          .split('\n')
          .filter((l) => !l.includes('stepcfg_migrate_'))
          .join('\n');
      const before = await dump();
      await ok(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json')]);
      const folded = await dump();
      expect((await listTables(db)).filter((t) => t.startsWith('stepcfg_migrate_'))).toHaveLength(4);
      expect((await cli(['cleanup', '--db', db.url])).code).toBe(3); // no --yes, no terminal
      const cleaned = await ok(['cleanup', '--db', db.url, '--yes']);
      expect(cleaned.cleanup!.dropped).toHaveLength(4);
      expect((await listTables(db)).filter((t) => t.startsWith('stepcfg_migrate_'))).toEqual([]);
      expect(await dump()).toBe(folded);
      expect(folded).not.toBe(before);
      expect((await ok(['--db', db.url, '--rollback', '--yes'])).outcome).toBe('nothing-to-do');
      expect((await ok(['cleanup', '--db', db.url, '--yes'])).outcome).toBe('nothing-to-do');
    });
  });

  it('a drop that a crash cut off after the fold committed is finished by the next run', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const applied = await ok(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json')]);
      const after = await snapshot(db);
      // Put the database where a MySQL crash between the fold's commit and the drop leaves it.
      const [kept] = await db
        .knex()('stepcfg_migrate_runs')
        .where({ id: applied.runId })
        .select('kept_step_table', 'kept_labels_table');
      await db
        .knex()('stepcfg_migrate_runs')
        .where({ id: applied.runId })
        .update({ status: 'folded', table_dropped: 0 });
      await db.knex().schema.renameTable(kept.kept_labels_table, 'step_configuration_labels');
      await db.knex().schema.renameTable(kept.kept_step_table, 'step_configuration');
      const rerun = await ok(['--db', db.url]);
      expect(rerun.notes.join()).toContain(`finished the drop of run ${applied.runId}`);
      expect(await listTables(db)).not.toContain('step_configuration');
      if (dialect !== 'sqlite') expect(await snapshot(db)).toBe(after); // SQLite's RENAME rewrites CREATE text
      await ok(['--db', db.url, '--rollback', '--yes']);
      expect(await listTables(db)).toContain('step_configuration');
      expect(existsSync(db.url) || dialect !== 'sqlite').toBe(true);
    });
  });
});
