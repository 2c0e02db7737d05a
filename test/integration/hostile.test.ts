import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { dumpDatabase, readWorkflowSpecs, withDataset, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { installedCopy } from '../support/installed-copy.js';
import { tempDir } from '../support/temp-dir.js';

const MB10 = 'x'.repeat(10 * 1024 * 1024);
const DEEP = '['.repeat(10_000) + ']'.repeat(10_000);
const LONG_NAME = ('é-名-' + 'n'.repeat(60)).repeat(4).slice(0, 255);

/** Step rows with hostile specs, each into the workflow `wf-empty` of the `empty` dataset. */
const ROWS: { name: string; spec: string }[] = [
  { name: 'big-kwargs', spec: `{"step_name": "S", "kwargs": {"blob": "${MB10}"}}` },
  { name: 'deep-kwargs', spec: `{"step_name": "S", "kwargs": {"deep": ${DEEP}}}` },
  {
    name: 'proto-keys',
    spec: '{"step_name": "S", "kwargs": {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}}',
  },
  { name: LONG_NAME, spec: '{"step_name": "S", "kwargs": {}}' },
  {
    name: 'huge-numbers',
    spec: '{"step_name": "S", "kwargs": {"n": 123456789012345678901234567890, "f": 1.00000000000000000001, "e": -1E-400}}',
  },
  { name: 'duplicate-keys', spec: '{"step_name": "S", "kwargs": {"a": 1, "b": 2, "a": 3}, "step_name": "T"}' },
];

async function insertStep(db: TestDatabase, n: number, name: string, spec: unknown): Promise<boolean> {
  try {
    await db
      .knex()('step_configuration')
      .insert({
        project_id: 'p-empty',
        workflow_id: 'wf-empty',
        version: '1',
        uid: `sc-hostile-${n}`,
        name,
        created: `2025-01-01 00:00:${String(n).padStart(2, '0')}`,
        spec,
      });
    return true;
  } catch {
    return false; // the database itself refuses such a value: it cannot be in a controller's table
  }
}

const dir = tempDir('stepcfg-hostile-');

/**
 * Step rows whose workflow_id differs from another id only by case or trailing spaces: each is
 * folded into its exact workflow or reported as an orphan, and every row is accounted for.
 */
async function idsThatDifferOnlyByCase(db: TestDatabase): Promise<void> {
  const k = db.knex();
  const [wf] = await k('workflow')
    .select('uid', 'project_id', 'owner_id')
    .whereIn('uid', k('step_configuration').select('workflow_id'))
    .orderBy('uid')
    .limit(1);
  const step = (workflowId: string, name: string) =>
    k('step_configuration').insert({
      project_id: wf.project_id,
      workflow_id: workflowId,
      version: '1',
      uid: `sc-${name}`,
      name,
      created: '2025-01-01 00:00:00',
      spec: '{"step_name": "S", "kwargs": {}}',
    });
  const workflow = (uid: string) =>
    k('workflow').insert({
      project_id: wf.project_id,
      workflow_type: 'application',
      state: 'ready',
      version: '7',
      owner_id: wf.owner_id,
      uid,
      name: `${uid.toLowerCase()}-workflow`,
      created: '2025-01-01 00:00:00',
      spec: '{"branch": "main"}',
    });
  await step(wf.uid.toUpperCase(), 'upper-case-id');
  await step(`${wf.uid}  `, 'trailing-spaces-id');
  // A workflow `Zz-Case`, and a dangling `ZZ-CASE` that MariaDB's default collation holds equal to it.
  await workflow('Zz-Case');
  await step('ZZ-CASE', 'dangling-case-id');
  await step('Zz-Case', 'exact-case-id');
  // Three ids the collation holds equal, two of them dangling, the dangling ones first (the
  // distinct ids then give a dangling one): each row is still counted once.
  await workflow('Ab-Case');
  await step('AB-CASE', 'a1-dangling-upper');
  await step('ab-case', 'a2-dangling-lower');
  await step('Ab-Case', 'a3-exact');
  const n = Number((await k('step_configuration').count({ n: '*' }))[0]?.n);

  const run = await cli(['--db', db.url, '--skip-invalid', '--json', '--quiet']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const report = run.json();
  // Every row accounted for once: folded, orphan or invalid.
  expect(report.summary.stepRows).toBe(n);
  expect(report.summary.folded + report.summary.orphans + report.summary.invalid).toBe(n);
  const orphans = new Map(report.orphans.map((o) => [o.name, [o.workflowId, o.reason]]));
  expect(orphans.get('upper-case-id')).toEqual([wf.uid.toUpperCase(), 'workflow_not_found']);
  expect(orphans.get('trailing-spaces-id')).toEqual([`${wf.uid}  `, 'workflow_not_found']);
  expect(orphans.get('dangling-case-id')).toEqual(['ZZ-CASE', 'workflow_not_found']);
  expect(orphans.get('a1-dangling-upper')).toEqual(['AB-CASE', 'workflow_not_found']);
  expect(orphans.get('a2-dangling-lower')).toEqual(['ab-case', 'workflow_not_found']);
  expect(report.orphans).toHaveLength(orphans.size); // none twice
  expect((await readWorkflowSpecs(db)).find((w) => w.uid === 'Ab-Case')?.spec).toContain('{"name": "a3-exact"');
  const spec = (await readWorkflowSpecs(db)).find((w) => w.uid === 'Zz-Case')?.spec;
  expect(spec).toBe(
    '{"branch": "main", "step_configurations": [{"name": "exact-case-id", "step_name": "S", "branch": "default", "kwargs": {}}]}',
  );
  for (const w of (await readWorkflowSpecs(db)).filter((w) => w.uid === wf.uid)) {
    expect(w.spec).not.toContain('upper-case-id');
    expect(w.spec).not.toContain('trailing-spaces-id');
  }
}

describeEachDialect('hostile data', (dialect, need) => {
  it('folds big, deep, odd and duplicated JSON exactly, or names why not; never crashes', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'empty', async (db) => {
      const stored = [];
      for (const [i, row] of ROWS.entries()) if (await insertStep(db, i, row.name, row.spec)) stored.push(row.name);
      // Every database here stores all of them but MariaDB, whose JSON check stops at depth 32.
      expect(stored).toEqual(ROWS.map((r) => r.name).filter((n) => dialect !== 'mysql' || n !== 'deep-kwargs'));
      if (dialect === 'sqlite') {
        // Bytes no JSON writer produces: a raw NUL in a string, and bytes that are not UTF-8.
        await db
          .knex()
          .raw(
            'INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec) ' +
              "VALUES ('p-empty', 'wf-empty', '1', 'sc-nul', 'nul', '2025-01-02 00:00:00', " +
              "CAST(X'7B22737465705F6E616D65223A202241004222207D' AS TEXT))",
          );
        await db
          .knex()
          .raw(
            'INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec) ' +
              "VALUES ('p-empty', 'wf-empty', '1', 'sc-latin1', 'latin1', '2025-01-02 00:00:01', " +
              "CAST(X'7B22737465705F6E616D65223A2022E922207D' AS TEXT))",
          );
      }
      const run = await cli(['--db', db.url, '--skip-invalid', '--json', '--quiet']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = run.json();
      expect(report.summary.folded).toBe(stored.length);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      if (dialect === 'sqlite') {
        expect(report.invalid).toEqual([
          expect.objectContaining({ uid: 'sc-latin1', reason: 'spec is not valid UTF-8 text' }),
          expect.objectContaining({ uid: 'sc-nul', reason: expect.stringContaining('not valid JSON') }),
        ]);
      }

      for (const version of ['1', '2']) {
        const spec = (await readWorkflowSpecs(db)).find((s) => s.uid === 'wf-empty' && s.version === version)!.spec!;
        const items = new Map<string, string>();
        // Items are written in json.dumps style: `{"name": …, "step_name": …, "branch": …, "kwargs": …}`.
        for (const name of stored) {
          const start = spec.indexOf(
            `{"name": ${JSON.stringify(name).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))}`,
          );
          expect(start, name).toBeGreaterThan(0);
          items.set(name, spec.slice(start, start + 300));
        }
        expect(spec).toContain(`"kwargs": {"blob": "${MB10}"}}`);
        if (stored.includes('deep-kwargs')) expect(spec).toContain(`"kwargs": {"deep": ${DEEP}}}`);
        expect(items.get('proto-keys')).toContain(
          '"kwargs": {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}}',
        );
        expect(items.get('huge-numbers')).toContain(
          '"kwargs": {"n": 123456789012345678901234567890, "f": 1.00000000000000000001, "e": -1E-400}}',
        );
        // As Python's json.loads reads it: the last "a" and the last "step_name" win, at their first place.
        expect(items.get('duplicate-keys')).toContain(
          '"step_name": "T", "branch": "default", "kwargs": {"a": 3, "b": 2}}',
        );
      }
      // Status judged by the apply's policy: the skipped rows are left, not work.
      const judged = await cli(['status', '--db', db.url, '--skip-invalid', '--json']);
      expect(judged.code).toBe(0);
      expect(judged.json().status!.left).toBe(report.invalid.length);
      expect((await cli(['--db', db.url, '--skip-invalid', '--json', '--quiet'])).json().summary).toMatchObject({
        folded: 0,
        unchanged: stored.length,
      });
    });
  }, 120_000);

  it('workflow ids that differ only by case or trailing spaces are distinct ids, also under a case-insensitive collation', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', idsThatDifferOnlyByCase);
  });

  if (dialect === 'postgres') {
    it('the same with a nondeterministic, case-insensitive collation on workflow_id', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const k = db.knex();
        await k.raw(
          "CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
        );
        await k.raw(
          'ALTER TABLE step_configuration ALTER COLUMN workflow_id TYPE varchar(64) COLLATE case_insensitive',
        );
        await idsThatDifferOnlyByCase(db);
      });
    });
  }

  if (dialect === 'sqlite') {
    it('a workflow_id stored as bytes: every run stops up front (exit 3) naming the rows and the fix, nothing written', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const k = db.knex();
        const [row] = await k('step_configuration').whereNotNull('workflow_id').orderBy('uid').limit(1).select('uid');
        await k.raw('UPDATE step_configuration SET workflow_id = CAST(workflow_id AS BLOB) WHERE uid = ?', [row.uid]);
        const before = await dumpDatabase(db, { exclude: () => false });
        for (const args of [['--dry-run'], ['--yes'], ['--drop-table', '--yes'], ['status']]) {
          const run = await cli([...args, '--db', db.url]);
          expect(run.code, args.join(' ')).toBe(3);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
          expect(run.stderr).toContain(
            `1 row(s) of step_configuration hold a workflow_id stored as bytes (a BLOB; uid "${row.uid}", for one)`,
          );
          expect(run.stderr).toContain("WHERE typeof(workflow_id) = 'blob'; nothing was written");
        }
        expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
        await k.raw(
          "UPDATE step_configuration SET workflow_id = CAST(workflow_id AS TEXT) WHERE typeof(workflow_id) = 'blob'",
        );
        const fixed = await cli(['--db', db.url, '--json', '--quiet']);
        expect(fixed.code).toBe(0);
        expect(fixed.json().summary.folded).toBe(22);
      });
    });

    it('a read-only database file: apply refused up front with exit 1, dry run works, nothing written', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        await db.knex().destroy();
        const file = join(dir(), 'readonly.db');
        copyFileSync(db.url, file);
        chmodSync(file, 0o444);
        chmodSync(dir(), 0o755);
        // Root may write anything: run the command as an ordinary user, as an operator would. That
        // user may not reach the checkout (a home directory of mode 0700, a clone into mktemp -d):
        // it runs a copy of the command as installed, in the directory it can read.
        const bin = installedCopy(dir());
        const asNobody = (args: string[]) =>
          spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, bin, ...args], { encoding: 'utf8' });
        const dry = asNobody(['--db', file, '--dry-run', '--json', '--quiet']);
        expect(dry.stderr).toBe('');
        expect(dry.status).toBe(0);
        expect(JSON.parse(dry.stdout).summary.folded).toBe(22);
        const apply = asNobody(['--db', file]);
        expect(apply.status).toBe(1);
        expect(apply.stderr.trim().split('\n')).toHaveLength(1);
        expect(apply.stderr).toMatch(
          /^stepcfg-migrate: error: preflight failed: the database file is not writable: .*readonly\.db/,
        );
        expect(
          spawnSync('sqlite3', [file, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'stepcfg%'"], {
            encoding: 'utf8',
          }).stdout.trim(),
        ).toBe('0');
      });
    });
  }
});
