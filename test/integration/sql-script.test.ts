import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ADVISORY_CLASS } from '../../src/dialect/postgres/session.js';
import { cli } from '../support/cli.js';
import { dumpDatabase, recordedRuns, rowsOf, withDataset, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { withGenerated } from '../support/generate.js';
import { runWithShell, type ShellRun } from '../support/shells.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-sql-script-');
let files = 0;
const freshFile = (name: string) => join(dir(), `${files++}-${name}`);

const ok = async (args: string[]) => {
  const run = await cli([...args, '--json', '--quiet']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.json();
};

/** `plan --sql-out`: the script's path, after checking that the plan went through and the file is private. */
async function planScript(db: TestDatabase, flags: string[] = []): Promise<string> {
  const script = freshFile('fold.sql');
  await ok(['plan', '--db', db.url, ...flags, '--sql-out', script]);
  expect(statSync(script).mode & 0o777).toBe(0o600);
  return script;
}

/** The backups of the latest run, without the run id (which differs between two runs). */
async function backups(db: TestDatabase): Promise<unknown[]> {
  const rows = rowsOf<Record<string, unknown>>(
    db.dialect,
    await db
      .knex()
      .raw(
        'SELECT workflow_uid, workflow_version, original_spec, written_hash FROM stepcfg_migrate_spec_backups ' +
          'ORDER BY workflow_uid, workflow_version',
      ),
  );
  return rows.map((r) => Object.values(r).map((v) => (v === null ? null : String(v))));
}

/**
 * Two copies of a dataset: the script runs on one, the tool applies the other. Both must end
 * equal, with the same backups; then `status` exits 0 and `rollback` gives back the original.
 */
async function scriptEqualsApply(
  dialect: TestDatabase['dialect'],
  dataset: string,
  flags: string[],
  prepare: (db: TestDatabase) => Promise<void> = async () => undefined,
): Promise<void> {
  await withDataset(dialect, dataset, async (scripted) => {
    await prepare(scripted);
    const before = await dumpDatabase(scripted);
    const script = await planScript(scripted, flags);
    const run = runWithShell(scripted, script);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    await withDataset(dialect, dataset, async (applied) => {
      await prepare(applied);
      await ok(['apply', '--db', applied.url, ...flags, '--yes']);
      expect(await dumpDatabase(scripted)).toBe(await dumpDatabase(applied));
      expect(await backups(scripted)).toEqual(await backups(applied));
    });
    const status = await cli(['status', '--db', scripted.url, ...flags, '--json']);
    expect(status.code).toBe(0);
    expect(status.json().runs).toEqual([
      expect.objectContaining({ mode: 'apply', status: 'applied', canRollBack: true }),
    ]);
    await ok(['rollback', '--db', scripted.url, '--yes']);
    expect(await dumpDatabase(scripted)).toBe(before);
  });
}

/** Plans a script, changes the database, runs the script: it fails naming `names`, and nothing changed. */
async function refusedAfter(db: TestDatabase, change: () => Promise<unknown>, names: string): Promise<void> {
  const script = await planScript(db);
  await change();
  const changed = await dumpDatabase(db);
  const run = runWithShell(db, script);
  expect(run.status).not.toBe(0);
  expect(run.stdout + run.stderr).toContain(names);
  expect(await dumpDatabase(db)).toBe(changed);
  expect(await recordedRuns(db)).toBe(0);
}

/** A step row that the plan folds, and the workflow row it goes into. */
async function foldedPair(db: TestDatabase): Promise<{ stepUid: string; workflowUid: string }> {
  const k = db.knex();
  const [row] = await k('step_configuration as s')
    .join('workflow as w', 'w.uid', 's.workflow_id')
    .select('s.uid as stepUid', 'w.uid as workflowUid')
    .orderBy('s.uid')
    .limit(1);
  return row as { stepUid: string; workflowUid: string };
}

const MB10 = 'x'.repeat(10 * 1024 * 1024);

/** Step rows of hostile text, folded into `wf-empty` of the `empty` dataset (those the database stores). */
const HOSTILE: { name: string; spec: string }[] = [
  { name: 'big-kwargs', spec: `{"step_name": "S", "kwargs": {"blob": "${MB10}"}}` },
  {
    name: 'proto-keys',
    spec: '{"step_name": "S", "kwargs": {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}}',
  },
  {
    name: 'huge-numbers',
    spec: '{"step_name": "S", "kwargs": {"n": 123456789012345678901234567890, "f": 1.00000000000000000001, "e": -1E-400}}',
  },
  {
    name: 'quotes \' " and \\ back\\slashes',
    spec: String.raw`{"step_name": "S", "kwargs": {"q": "it's \"x\" \\ \\' $$ ;; -- /* DELIMITER ; \\n \u0000 \r\n"}}`,
  },
  { name: 'é-名-🙂', spec: '{"step_name": "S", "kwargs": {"t": "é 名 🙂 \u2028"}}' },
];

async function hostileRows(db: TestDatabase): Promise<void> {
  const k = db.knex();
  for (const [n, row] of HOSTILE.entries()) {
    await k('step_configuration').insert({
      project_id: 'empty-project',
      workflow_id: 'wf-empty',
      version: '1',
      uid: `sc-hostile-${n}`,
      name: row.name,
      created: `2025-01-01 00:00:0${n}`,
      spec: row.spec,
    });
  }
  // A workflow spec laid out with CR LF and tabs: its text is kept where the fold leaves it.
  await k('workflow')
    .where({ uid: 'wf-empty', version: '2' })
    .update({ spec: '{\r\n\t"branch": "main",\r\n\t"note": "a \\"quoted\\" \\\\ text"\r\n}' });
  if (db.dialect === 'sqlite') {
    // Bytes no JSON writer produces: a raw NUL in a string, and bytes that are not UTF-8 (left as invalid).
    await k.raw(
      'INSERT INTO step_configuration (project_id, workflow_id, version, uid, name, created, spec) ' +
        "VALUES ('empty-project', 'wf-empty', '1', 'sc-nul', 'nul', '2025-01-02 00:00:00', " +
        "CAST(X'7B22737465705F6E616D65223A202241004222207D' AS TEXT)), " +
        "('empty-project', 'wf-empty', '1', 'sc-latin1', 'latin1', '2025-01-02 00:00:01', " +
        "CAST(X'7B22737465705F6E616D65223A2022E922207D' AS TEXT))",
    );
  }
}

describeEachDialect('plan --sql-out', (dialect, need) => {
  it('the script, run with the shell, does what apply does; status exits 0; rollback gives back the original', async (ctx) => {
    need(ctx);
    await scriptEqualsApply(dialect, 'sample', []);
    await scriptEqualsApply(dialect, 'conflict', ['--on-conflict', 'keep']);
  }, 120_000);

  // Past its first 20,000 rows the step table's fingerprint is hashed on a thread of its own: the
  // script checks the table by that sum, so it runs only where every row was counted once.
  it('a table hashed on the second thread: the script runs, and ends as the apply does', async (ctx) => {
    need(ctx);
    const steps = 30_000;
    await withGenerated(dialect, steps, async (scripted) => {
      const script = await planScript(scripted);
      expect(readFileSync(script, 'utf8')).toContain(`-- Step table as read: ${steps} row(s)`);
      const run = runWithShell(scripted, script);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      await withGenerated(dialect, steps, async (applied) => {
        await ok(['apply', '--db', applied.url, '--yes']);
        expect(await dumpDatabase(scripted)).toBe(await dumpDatabase(applied));
      });
    });
  }, 180_000);

  it('hostile text goes through the script unchanged: as the apply writes it, and back on rollback', async (ctx) => {
    need(ctx);
    await scriptEqualsApply(dialect, 'empty', ['--skip-invalid'], hostileRows);
  }, 180_000);

  it('a workflow spec edited after the plan: the script fails naming the row, nothing written', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const { workflowUid } = await foldedPair(db);
      const edit = () => db.knex()('workflow').where({ uid: workflowUid }).update({ spec: '{"branch": "edited"}' });
      await refusedAfter(db, edit, `workflow "${workflowUid}"`);
      // Whatever the failed run left (on MariaDB, the tool's tables, empty), a new plan's script runs.
      const again = runWithShell(db, await planScript(db));
      expect(again.stderr).toBe('');
      expect(again.status).toBe(0);
      expect((await cli(['status', '--db', db.url])).code).toBe(0);
    });
  }, 60_000);

  it('step rows edited, added or deleted after the plan: the script fails naming the table, nothing written', async (ctx) => {
    need(ctx);
    const changes: Record<string, (db: TestDatabase, stepUid: string) => Promise<unknown>> = {
      edited: (db, uid) => db.knex()('step_configuration').where({ uid }).update({ spec: '{"step_name": "Edited"}' }),
      deleted: (db, uid) => db.knex()('step_configuration').where({ uid }).del(),
      added: async (db, uid) => {
        const [row] = await db.knex()('step_configuration').where({ uid }).select();
        await db
          .knex()('step_configuration')
          .insert({ ...row, uid: 'sc-added-after-plan', name: 'added-after-plan' });
      },
    };
    for (const [what, change] of Object.entries(changes)) {
      await withDataset(dialect, 'sample', async (db) => {
        const { stepUid } = await foldedPair(db);
        await refusedAfter(db, () => change(db, stepUid), 'rows of step_configuration changed after the plan');
      }).catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
  }, 120_000);

  it("stops after --lock-timeout while another run holds the tool's lock; nothing written", async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const script = await planScript(db, ['--lock-timeout', '1']);
      const before = await dumpDatabase(db);
      let run: ShellRun | undefined;
      // The transaction ends in a rollback, which knex reports as a rejection.
      await db
        .knex()
        .transaction(async (trx) => {
          // Another run holding the lock, as the tool takes it (SQLite: the file's write lock).
          const key = `stepcfg-migrate:${dialect === 'postgres' ? 'public' : db.name}.workflow`;
          if (dialect === 'postgres')
            await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [ADVISORY_CLASS, key]);
          else if (dialect === 'mysql') await trx.raw('SELECT GET_LOCK(?, 0)', [key]);
          else await trx.raw('UPDATE workflow SET name = name');
          run = runWithShell(db, script);
          if (dialect === 'mysql') await trx.raw('SELECT RELEASE_LOCK(?)', [key]);
          await trx.rollback();
        })
        .catch(() => undefined);
      if (!run) throw new Error('the lock was not taken');
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(
        { sqlite: /database is locked/, postgres: /lock timeout/, mysql: /another run holds the lock/ }[dialect],
      );
      expect(await dumpDatabase(db)).toBe(before);
      expect(await recordedRuns(db)).toBe(0);
    });
  }, 60_000);

  it('a blocked plan writes no script (exit 3); --drop-table, apply and --out refuse --sql-out (exit 2, one line)', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'conflict', async (db) => {
      const script = freshFile('blocked.sql');
      const blocked = await cli(['plan', '--db', db.url, '--sql-out', script, '--quiet']);
      expect(blocked.code).toBe(3);
      expect(existsSync(script)).toBe(false);
      const planFile = freshFile('refused.plan');
      for (const args of [
        ['plan', '--drop-table'],
        ['apply', '--yes'],
        ['plan', '--out', planFile],
      ]) {
        const refused = await cli([...args, '--db', db.url, '--sql-out', script]);
        expect(refused.code).toBe(2);
        expect(refused.stderr.trim().split('\n')).toHaveLength(1);
        expect(existsSync(script)).toBe(false);
        expect(existsSync(planFile)).toBe(false);
      }
    });
  });

  it('after the step table was dropped there is nothing to fold: no script, and the run says so (exit 0)', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const dropped = await cli(['--db', db.url, '--drop-table', '--yes', '--orphans-out', freshFile('left.ndjson')]);
      expect(dropped.code).toBe(0);
      const script = freshFile('after-drop.sql');
      const run = await cli(['plan', '--db', db.url, '--sql-out', script, '--json']);
      expect(run.code).toBe(0);
      expect(run.json().summary.folded).toBe(0);
      const runId = dropped.stdout.match(/run ([0-9a-f-]{36})/)?.[1];
      expect(run.json().notes).toContain(
        `no SQL script written to ${script}: step_configuration was dropped by run ${runId}, and apply folds nothing more`,
      );
      expect(existsSync(script)).toBe(false);
    });
  });

  it('with --if-exists and no step table there is nothing to migrate: no script, and the run says so (exit 0)', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      await db.knex().schema.dropTable('step_configuration_labels').dropTable('step_configuration');
      const script = freshFile('absent.sql');
      const run = await cli(['plan', '--db', db.url, '--sql-out', script, '--if-exists', '--json']);
      expect(run.code).toBe(0);
      expect(run.json().notes).toContain(`no SQL script written to ${script}: there is nothing to migrate`);
      expect(existsSync(script)).toBe(false);
    });
  });
});

// The header tells a reviewer what the script does and how to run it.
describeEachDialect('the script header', (dialect, need) => {
  it('names the tool version, the database without password, the plan and how to run it', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const text = readFileSync(await planScript(db), 'utf8');
      const header = text.slice(0, text.indexOf('-- end of header'));
      expect(header).toMatch(/Made by stepcfg-migrate \d+\.\d+\.\d+/);
      expect(header).toContain('Plan: 25 step row(s): 22 folded');
      expect(header).toMatch(/Plan fingerprint .*\n-- {3}[0-9a-f]{64}/);
      expect(header).toContain(
        { sqlite: 'sqlite3 -bail', postgres: 'psql -X -v ON_ERROR_STOP=1', mysql: 'mariadb' }[dialect],
      );
      if (dialect === 'mysql') expect(header).toContain('commit before the transaction begins');
    });
  });
});
