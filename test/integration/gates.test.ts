import { expect, it } from 'vitest';
import { join } from 'node:path';
import { cli } from '../support/cli.js';
import { dumpDatabase, withDataset, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-gates-');
let files = 0;
const freshFile = (name: string) => join(dir(), `${files++}-${name}`);

/** Every table, the tool's own included: a run record would show. */
const everything = (db: TestDatabase) => dumpDatabase(db, { exclude: () => false });

const run = async (args: string[], code: number) => {
  const done = await cli([...args, '--json', '--quiet']);
  expect(done.code, done.stderr).toBe(code);
  return done.json();
};

/** Sets `branch` of one workflow row's spec, as an operator editing it after the run would. */
async function editBranch(db: TestDatabase, uid: string, version: string): Promise<void> {
  const k = db.knex();
  const [row] = await k('workflow').where({ uid, version }).select('spec');
  const spec = typeof row.spec === 'string' ? JSON.parse(row.spec) : row.spec;
  await k('workflow')
    .where({ uid, version })
    .update({ spec: JSON.stringify({ ...spec, branch: 'edited-later' }) });
}

describeEachDialect('rollback --dry-run', (dialect, need) => {
  it('says what it would undo and writes nothing; the real rollback reports the same', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const applied = await run(['--db', db.url], 0);
      const before = await everything(db);
      const dry = await run(['--db', db.url, '--rollback', '--dry-run'], 0);
      expect(await everything(db)).toBe(before);
      expect(Object.keys(dry).indexOf('rollback')).toBeLessThan(Object.keys(dry).indexOf('summary'));
      expect(dry.rollback).toMatchObject({
        runId: applied.runId,
        run: applied.runId,
        runWorkflowsUpdated: applied.summary.workflowsUpdated,
        runTableDropped: false,
        workflowsToRestore: applied.summary.workflowsUpdated,
        workflowsRestored: applied.summary.workflowsUpdated,
        drifted: [],
        tables: [],
        tablesRestored: [],
        refused: false,
      });
      const keys = (list: Iterable<{ uid: string; version: string }>) =>
        [...list].map((w) => `${w.uid}/${w.version}`).sort();
      expect(keys(dry.rollback!.workflows!)).toEqual(keys(applied.workflows));

      const human = await cli(['--db', db.url, '--rollback', '--dry-run', '--verbose']);
      expect(human.code).toBe(0);
      expect(human.stdout).not.toMatch(/to fold|step rows/);
      expect(human.stdout).toContain(`run              ${applied.runId}`);
      for (const w of applied.workflows) expect(human.stdout).toContain(`${w.uid} (version ${w.version}) "${w.name}"`);
      expect(await everything(db)).toBe(before);

      const real = await run(['--db', db.url, '--rollback', '--yes'], 0);
      expect({ ...real.rollback, message: '' }).toEqual({ ...dry.rollback, message: '' });
    });
  });

  it('a run with --drop-table and a row edited since: refused dry and real alike, then --force', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const applied = await run(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json')], 0);
      const edited = applied.workflows[0]!;
      await editBranch(db, edited.uid, edited.version);
      const before = await everything(db);

      const dry = await run(['--db', db.url, '--rollback', '--dry-run'], 3);
      expect(dry.outcome).toBe('blocked');
      const labels = Number(
        (
          await db
            .knex()(`stepcfg_migrate_${applied.runId.slice(0, 8)}_labels`)
            .count('* as n')
        )[0]!.n,
      );
      expect(dry.rollback).toMatchObject({
        runId: applied.runId,
        runTableDropped: true,
        refused: true,
        workflowsRestored: 0,
        forced: 0,
        tablesRestored: [],
        workflowsToRestore: applied.summary.workflowsUpdated - 1,
        drifted: [
          { uid: edited.uid, version: edited.version, name: edited.name, keys: ['branch'], forceKeeps: ['branch'] },
        ],
        tables: [
          { table: 'step_configuration', rows: 25 },
          { table: 'step_configuration_labels', rows: labels },
        ],
      });
      const human = await cli(['--db', db.url, '--rollback', '--dry-run']);
      expect(human.code).toBe(3);
      expect(human.stdout).not.toMatch(/\brestored\b|to fold/);
      expect(human.stdout).toContain(`"${edited.name}"`);
      expect(human.stdout).toContain('--force keeps their edits to branch');

      const refused = await run(['--db', db.url, '--rollback', '--yes'], 3);
      expect(refused.rollback).toEqual(dry.rollback);
      expect(await everything(db)).toBe(before);

      const dryForce = await run(['--db', db.url, '--rollback', '--dry-run', '--force'], 0);
      expect(await everything(db)).toBe(before);
      expect(dryForce.rollback).toMatchObject({
        refused: false,
        forced: 1,
        workflowsRestored: applied.summary.workflowsUpdated - 1,
        workflowsToRestore: applied.summary.workflowsUpdated,
        tablesRestored: ['step_configuration', 'step_configuration_labels'],
      });
      const forced = await run(['--db', db.url, '--rollback', '--yes', '--force'], 0);
      expect({ ...forced.rollback, message: '' }).toEqual({ ...dryForce.rollback, message: '' });
      expect(forced.rollback!.message).toBe(`run ${applied.runId} rolled back`);
    });
  });
});

describeEachDialect('status judged by the apply policy', (dialect, need) => {
  it('after apply --skip-invalid, status --skip-invalid passes and lists the skipped rows as left', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'invalid', async (db) => {
      const applied = await run(['--db', db.url, '--skip-invalid'], 0);
      await run(['status', '--db', db.url], 3); // without flags: strict, as before
      const status = await run(['status', '--db', db.url, '--skip-invalid'], 0);
      expect(status.outcome).toBe('up-to-date');
      expect(status.status).toMatchObject({ pending: 0, mismatched: 0, upToDate: true, left: applied.invalid.length });
      expect(status.status!.leftRows.map((r) => [r.kind, r.uid]).sort()).toEqual(
        applied.invalid.map((i) => ['invalid', i.uid]).sort(),
      );
    });
  });

  it('after apply --on-conflict keep, status --on-conflict keep passes; the kept conflict is left', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'conflict', async (db) => {
      await run(['--db', db.url, '--on-conflict', 'keep'], 0);
      const strict = await run(['status', '--db', db.url], 3);
      expect(strict.status).toMatchObject({ mismatched: 1, left: 0 });
      const status = await run(['status', '--db', db.url, '--on-conflict', 'keep'], 0);
      expect(status.status).toMatchObject({ pending: 0, mismatched: 0, left: 1, upToDate: true });
      expect(status.status!.leftRows).toEqual([expect.objectContaining({ kind: 'conflict', name: 'guard' })]);
    });
  });
});

describeEachDialect('--if-exists', (dialect, need) => {
  it('no step table next to a workflow table: nothing to migrate with it, exit 1 naming it without', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const k = db.knex();
      await k.schema.dropTable('step_configuration_labels');
      await k.schema.dropTable('step_configuration');
      const before = await everything(db);
      for (const args of [['--dry-run'], [], ['status']]) {
        const without = await cli([...args, '--db', db.url]);
        expect(without.code).toBe(1);
        expect(without.stderr).toContain('--if-exists');
        const report = await run([...args, '--db', db.url, '--if-exists'], 0);
        expect(report.outcome).toBe('nothing-to-do');
        expect(report.notes.at(-1)).toContain('there is no table step_configuration');
        if (args[0] === 'status') expect(report.status).toMatchObject({ upToDate: true, pending: 0 });
      }
      expect(await everything(db)).toBe(before);

      await k.schema.renameTable('workflow', 'workflow_elsewhere');
      const noWorkflow = await cli(['--db', db.url, '--if-exists']);
      expect(noWorkflow.code).toBe(1);
      expect(noWorkflow.stderr).toContain('workflow not found');
    });
  });

  it('a step table dropped by a run of the tool is read from its kept copy, as without the flag', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      await run(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('o.json')], 0);
      const status = await run(['status', '--db', db.url, '--if-exists'], 0);
      expect(status.outcome).toBe('up-to-date');
      expect(status.summary).toMatchObject({ stepRows: 25, tableDropped: true });
      const dry = await run(['--db', db.url, '--dry-run', '--if-exists'], 0);
      expect(dry.outcome).toBe('planned');
      expect(dry.summary).toMatchObject({ stepRows: 25, tableDropped: true });
    });
  });
});
