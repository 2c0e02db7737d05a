import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { dumpDatabase, listTables, readWorkflowSpecs, withDataset, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';

/** The dump of everything but the workflow table's spec column and the tool's own tables. */
async function dumpAllButSpecs(db: TestDatabase): Promise<string> {
  const others = await dumpDatabase(db, { exclude: (t) => t === 'workflow' || t.startsWith('stepcfg_migrate_') });
  const columns = Object.keys(await db.knex()('workflow').columnInfo()).filter((c) => c !== 'spec');
  const rows = await db.knex()('workflow').select(columns).orderBy(['uid', 'version']);
  return others + JSON.stringify(rows);
}

const specOf = async (db: TestDatabase, uid: string, version = '1') =>
  (await readWorkflowSpecs(db)).find((s) => s.uid === uid && s.version === version)?.spec;

/** An item of a folded spec's `step_configurations`, as these tests read it. */
interface SpecItem {
  name: string;
  kwargs: Record<string, unknown>;
}

const item = (name: string, stepName: string, kwargs: string, branch = '"default"') =>
  `{"name": ${name}, "step_name": "${stepName}", "branch": ${branch}, "kwargs": ${kwargs}}`;

describeEachDialect('migration', (dialect, need) => {
  it('plans the same whatever the batch size (keyset pages across every uid)', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'cases', async (db) => {
      const reports = [];
      for (const size of ['1', '2', '3', '500']) {
        const run = await cli(['--db', db.url, '--dry-run', '--json', '--quiet', '--batch-size', size]);
        expect(run.code).toBe(0);
        const { runId: _id, ...report } = run.json();
        reports.push(report);
      }
      for (const r of reports) expect(r).toEqual(reports[0]);
      const apply = await cli(['--db', db.url, '--json', '--quiet', '--batch-size', '1']);
      expect(apply.json().summary).toEqual(reports[0]!.summary);
    });
  });

  it('dry run writes nothing, creates nothing, and predicts the apply exactly', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpDatabase(db, { exclude: () => false });
      const dry = await cli(['--db', db.url, '--dry-run', '--json']);
      expect(dry.code).toBe(0);
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
      expect(await listTables(db)).not.toContain('stepcfg_migrate_runs');

      const apply = await cli(['--db', db.url, '--json']);
      expect(apply.code).toBe(0);
      const planned = dry.json();
      const done = apply.json();
      expect(planned.mode).toBe('dry-run');
      expect(done.mode).toBe('apply');
      expect(done.summary).toEqual(planned.summary);
      expect(done.workflows).toEqual(planned.workflows);
      expect(done.orphans).toEqual(planned.orphans);
      expect(done.summary).toMatchObject({
        stepRows: 25,
        folded: 22,
        unchanged: 0,
        workflowsUpdated: 7,
        orphans: 3,
        conflicts: 0,
        invalid: 0,
        tableDropped: false,
      });
    });
  });

  it('apply writes only the spec of the workflow rows that change, and a re-run folds nothing', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpAllButSpecs(db);
      const specsBefore = await readWorkflowSpecs(db);
      const first = await cli(['--db', db.url, '--json']);
      expect(first.code).toBe(0);
      expect(await dumpAllButSpecs(db)).toBe(before);
      const specsAfter = await readWorkflowSpecs(db);
      const changed = specsAfter.filter((s, i) => s.spec !== specsBefore[i]!.spec).map((s) => `${s.uid}/${s.version}`);
      expect(changed.sort()).toEqual(
        first
          .json()
          .workflows.map((w) => `${w.uid}/${w.version}`)
          .sort(),
      );

      const afterFirst = await dumpDatabase(db);
      const second = await cli(['--db', db.url, '--json']);
      expect(second.code).toBe(0);
      expect(second.json().summary).toMatchObject({ folded: 0, unchanged: 22, workflowsUpdated: 0, orphans: 3 });
      expect(await dumpDatabase(db)).toBe(afterFirst);

      const runs: { id: string; mode: string; status: string; summary: string }[] = await db
        .knex()('stepcfg_migrate_runs')
        .select('id', 'mode', 'status', 'summary');
      expect(runs.map((r) => r.id).sort()).toEqual([first.json().runId, second.json().runId].sort());
      expect(JSON.parse(runs.find((r) => r.id === first.json().runId)!.summary)).toMatchObject({ folded: 22 });
    });
  });

  it('carries every value over exactly: defaults, literals, unicode, order, versions, existing items', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'cases', async (db) => {
      const run = await cli(['--db', db.url, '--json']);
      expect(run.code).toBe(0);
      const report = run.json();
      expect(report.summary).toMatchObject({
        stepRows: 22,
        folded: 19,
        unchanged: 1,
        orphans: 2,
        conflicts: 0,
        invalid: 0,
      });
      expect(report.orphans.map((o) => [o.uid, o.reason, o.workflowId])).toEqual([
        ['sc-orphan-dangling', 'workflow_not_found', 'wf-deleted'],
        ['sc-orphan-null', 'no_workflow_id', null],
      ]);
      expect(report.warnings.map((w) => [w.uid, w.field])).toEqual([
        ['sc-copy-mismatch', 'name'],
        ['sc-copy-mismatch', 'workflow_id'],
      ]);

      expect(await specOf(db, 'wf-values')).toBe(
        '{"structure": {"z": 1, "a": 2}, "branch": "main", "type_kwargs": {"temperature": 1.0}, ' +
          '"configuration": {}, "step_configurations": [' +
          [
            item(
              '"numbers"',
              'LLMStep',
              '{"zeta": 1.0, "big": 12345678901234567890, "neg_zero": -0.0, "huge": 1e400, ' +
                '"pi": 3.14159265358979323846264338327950288, "nested": {"z": [1.0, 2.50, {"b": 1, "a": 2}], "a": null}}',
            ),
            item(
              '"r\\u00e9sum\\u00e9-\\u4e2d\\u6587-\\ud83d\\ude00"',
              'RetrieverStep',
              '{"greeting": "caf\\u00e9", "lang": "\\u4e2d\\u6587", "emoji": "\\ud83d\\ude00", "cl\\u00e9": "valeur"}',
            ),
            item(
              '"proto-keys"',
              'Guardrail',
              '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "toString": "nope"}',
            ),
          ].join(', ') +
          ']}',
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();

      expect(await specOf(db, 'wf-defaults')).toBe(
        '{"branch": "main", "type_kwargs": {}, "structure": {"steps": [{"class_name": "LLMStep"}]}, ' +
          '"configuration": {}, "step_configurations": [' +
          [
            item('"branch-missing"', 'SessionLoader', '{"a": 1}'),
            item('"branch-null"', 'SessionLoader', '{"a": 2}'),
            item('"branch-empty"', 'SessionLoader', '{"a": 3}', '""'),
            item('"kwargs-missing"', 'Guardrail', '{}'),
            item('"kwargs-null"', 'Guardrail', '{}'),
          ].join(', ') +
          ']}',
      );

      // created ties go by name in code-point order; sub-second order only where the column keeps it.
      const ordered = JSON.parse((await specOf(db, 'wf-order'))!).step_configurations.map((i: SpecItem) => i.name);
      const secondsOnly = dialect === 'mysql'; // DATETIME as SQLAlchemy creates it on MySQL: no fraction
      expect(ordered).toEqual(['B', 'a', 'é', ...(secondsOnly ? ['m-late', 'z-early'] : ['z-early', 'm-late'])]);

      const jsonNullItem = item('"jsonnull-step"', 'LLMStep', '{"k": 2}');
      expect(await specOf(db, 'wf-jsonnull')).toBe(`{"step_configurations": [${jsonNullItem}]}`);
      expect(await specOf(db, 'wf-sqlnull')).toBe(
        `{"step_configurations": [${item('"sqlnull-step"', 'LLMStep', '{"k": 1}')}]}`,
      );

      const existing = JSON.parse((await specOf(db, 'wf-existing'))!);
      expect(existing.step_configurations.map((i: SpecItem) => i.name)).toEqual([
        'manual-item',
        'existing-same',
        'existing-new',
      ]);
      expect(existing.configuration).toEqual({ x: 1 });

      const v1 = JSON.parse((await specOf(db, 'wf-multi', '1'))!);
      const v2 = JSON.parse((await specOf(db, 'wf-multi', '2'))!);
      expect(v1.step_configurations).toEqual(v2.step_configurations);
      expect(v1.step_configurations.map((i: SpecItem) => i.name)).toEqual(['multi-load', 'multi-llm']);
      expect(v2.configuration).toEqual({ v: 2 });

      const copies = JSON.parse((await specOf(db, 'wf-copies'))!);
      expect(copies.step_configurations[0].name).toBe('copy-mismatch');
      expect(report.workflows.map((w) => w.uid)).not.toContain('wf-untouched');
    });
  });

  it('a conflict blocks by default and writes nothing; keep and replace resolve it', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'conflict', async (db) => {
      const before = await dumpDatabase(db, { exclude: () => false });
      const blocked = await cli(['--db', db.url, '--json']);
      expect(blocked.code).toBe(3);
      expect(blocked.json().conflicts).toEqual([
        expect.objectContaining({ workflowUid: 'wf-conflict', name: 'guard', resolution: 'blocking' }),
      ]);
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);

      const dry = await cli(['--db', db.url, '--dry-run', '--on-conflict', 'keep', '--json']);
      const keep = await cli(['--db', db.url, '--on-conflict', 'keep', '--json']);
      expect(keep.code).toBe(0);
      expect(keep.json().summary).toEqual(dry.json().summary);
      expect(keep.json().summary).toMatchObject({ folded: 2, unchanged: 1, conflicts: 1 });
      const kept = JSON.parse((await specOf(db, 'wf-conflict'))!).step_configurations;
      expect(kept.find((i: SpecItem) => i.name === 'guard').kwargs).toEqual({ strict: true });

      const replace = await cli(['--db', db.url, '--on-conflict', 'replace', '--json']);
      expect(replace.code).toBe(0);
      expect(replace.json().workflows).toEqual([
        expect.objectContaining({ uid: 'wf-conflict', added: [], replaced: ['guard'] }),
      ]);
      const replaced = JSON.parse((await specOf(db, 'wf-conflict'))!).step_configurations;
      expect(replaced.map((i: SpecItem) => i.name)).toEqual(kept.map((i: SpecItem) => i.name));
      expect(replaced.find((i: SpecItem) => i.name === 'guard').kwargs).toEqual({ strict: false });
    });
  });

  it('invalid rows block with their reasons; --skip-invalid folds the rest and leaves them', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'invalid', async (db) => {
      const before = await dumpDatabase(db, { exclude: () => false });
      const blocked = await cli(['--db', db.url, '--json']);
      expect(blocked.code).toBe(3);
      const reasons = Object.fromEntries(blocked.json().invalid.map((i) => [i.uid, i.reason]));
      expect(reasons).toMatchObject({
        'sc-bad-array': expect.stringContaining('not a JSON object'),
        'sc-bad-null': 'spec is NULL',
        'sc-no-step-name': 'spec.step_name is missing',
        'sc-numeric-step-name': expect.stringContaining('step_name is a number'),
        'sc-numeric-branch': expect.stringContaining('branch is a number'),
        'sc-list-kwargs': expect.stringContaining('kwargs is an array'),
        'sc-oops-step': expect.stringContaining('workflow wf-oops'),
      });
      if (dialect === 'sqlite') expect(reasons['sc-bad-json']).toContain('not valid JSON');
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);

      const skipped = await cli(['--db', db.url, '--skip-invalid', '--json']);
      expect(skipped.code).toBe(0);
      expect(skipped.json().summary).toMatchObject({ folded: 2, invalid: Object.keys(reasons).length });
      const items = JSON.parse((await specOf(db, 'wf-valid'))!).step_configurations.map((i: SpecItem) => i.name);
      expect(items).toEqual(['good-1', 'good-2']);
      expect(await specOf(db, 'wf-oops')).toBe('"oops"');
    });
  });

  it('--strict makes orphans block; status reports work left, then up to date, then a mismatch', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpDatabase(db, { exclude: () => false });
      const strict = await cli(['--db', db.url, '--strict', '--json']);
      expect(strict.code).toBe(3);
      expect(strict.json().blockers.join()).toContain('orphan');
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);

      const pending = await cli(['status', '--db', db.url, '--json']);
      expect(pending.code).toBe(3);
      expect(pending.json()).toMatchObject({ mode: 'status', status: { pending: 22, mismatched: 0, upToDate: false } });
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);

      expect((await cli(['--db', db.url])).code).toBe(0);
      const clean = await cli(['status', '--db', db.url, '--json']);
      expect(clean.code).toBe(0);
      expect(clean.json().status).toMatchObject({ pending: 0, mismatched: 0, upToDate: true, left: 3 });
      expect(clean.json().status!.leftRows.map((r) => r.kind)).toEqual(['orphan', 'orphan', 'orphan']);
      expect((await cli(['status', '--db', db.url, '--strict'])).code).toBe(3);

      const [row] = await db.knex()('step_configuration').whereNotNull('workflow_id').orderBy('uid').limit(1);
      const spec = typeof row.spec === 'string' ? JSON.parse(row.spec) : row.spec;
      spec.kwargs = { ...(spec.kwargs ?? {}), edited: true };
      await db
        .knex()('step_configuration')
        .where({ uid: row.uid, version: row.version })
        .update({ spec: JSON.stringify(spec) });
      const drift = await cli(['status', '--db', db.url, '--json']);
      expect(drift.code).toBe(3);
      expect(drift.json().status!.mismatched).toBeGreaterThanOrEqual(1);
      expect(drift.json().conflicts[0]!.name).toBe(row.name);
    });
  });

  it("a database error in the middle of the writes leaves nothing behind, not even the tool's tables", async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const k = db.knex();
      // A trigger that refuses to update one workflow row: the fold fails after other rows were written.
      const victim = (await readWorkflowSpecs(db)).at(-1)!.uid;
      if (dialect === 'sqlite') {
        await k.raw(
          `CREATE TRIGGER refuse BEFORE UPDATE ON workflow WHEN OLD.uid = '${victim}' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
        );
      } else if (dialect === 'postgres') {
        await k.raw(
          `CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF OLD.uid = '${victim}' ` +
            `THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
        );
        await k.raw('CREATE TRIGGER refuse BEFORE UPDATE ON workflow FOR EACH ROW EXECUTE FUNCTION refuse()');
      } else {
        await k.raw(
          `CREATE TRIGGER refuse BEFORE UPDATE ON workflow FOR EACH ROW BEGIN IF OLD.uid = '${victim}' ` +
            `THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END`,
        );
      }
      const before = await dumpDatabase(db, { exclude: () => false });
      const run = await cli(['--db', db.url, '--batch-size', '1']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/refused.*nothing was written/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
    });
  });

  it('an empty step table is a clean no-op', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'empty', async (db) => {
      const run = await cli(['--db', db.url, '--json']);
      expect(run.code).toBe(0);
      expect(run.json().summary).toMatchObject({ stepRows: 0, folded: 0, workflowsUpdated: 0 });
      expect((await cli(['status', '--db', db.url])).code).toBe(0);
    });
  });

  it('preflight names missing tables and columns at once and writes nothing', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const k = db.knex();
      await k.schema.renameTable('step_configuration', 'steps_renamed');
      const before = await dumpDatabase(db, { exclude: () => false });
      const missing = await cli(['--db', db.url, '--workflow-table', 'no_such_workflows']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('step_configuration not found');
      expect(missing.stderr).toContain('no_such_workflows not found');
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);

      const renamed = await cli(['--db', db.url, '--step-table', 'steps_renamed', '--json']);
      expect(renamed.code).toBe(0);
      expect(renamed.json().summary.folded).toBe(22);

      await k.schema.alterTable('steps_renamed', (t) => t.renameColumn('workflow_id', 'wf_id'));
      const column = await cli(['--db', db.url, '--step-table', 'steps_renamed', '--dry-run']);
      expect(column.code).toBe(1);
      expect(column.stderr).toContain('has no column workflow_id');
    });
  });

  it('writes the same JSON report to --report as to stdout, and a human report otherwise', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const file = join(tmpdir(), `stepcfg-report-${process.pid}-${dialect}.json`);
      const run = await cli(['--db', db.url, '--dry-run', '--json', '--report', file]);
      const written = readFileSync(file, 'utf8');
      rmSync(file);
      expect(written).toBe(run.stdout);
      expect(run.json()).toMatchObject({ reportVersion: 1, database: { dialect } });
      expect(run.stderr).toContain('Orphans (3)');

      const human = await cli(['--db', db.url, '--dry-run', '--verbose']);
      expect(human.stdout).toMatch(/to fold\s+22/);
      expect(human.stdout).toContain('workflow_not_found');
      expect(human.stdout).toMatch(/\+ \S+/); // --verbose lists each added item
      expect(human.stdout).not.toContain('\u001b['); // no colour (or other escape sequence) off a TTY

      const quiet = await cli(['--db', db.url, '--dry-run', '--quiet']);
      expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    });
  });
});
