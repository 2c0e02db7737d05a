import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import mysql from 'mysql2/promise';
import { expect, it, type TestContext } from 'vitest';
import { cli, runBin } from '../support/cli.js';
import {
  createTestDatabase,
  dumpDatabase,
  readWorkflowSpecs,
  recordedRuns,
  withDataset,
  type TestDatabase,
} from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { parseDatabaseUrl } from '../../src/config/db-url.js';
import { openAdapter } from '../../src/dialect/connect.js';
import { generateDatabase } from '../support/generate.js';
import { tempDir } from '../support/temp-dir.js';

/** A session variable's value in a new session of this MySQL/MariaDB URL's account. */
async function mysqlSessionValue(url: string, variable: string): Promise<string> {
  const u = new URL(url);
  const connection = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: u.username,
    database: u.pathname.slice(1),
  });
  try {
    const [rows] = await connection.query(`SELECT @@SESSION.${variable} AS value`);
    return String((rows as { value: unknown }[])[0]?.value);
  } finally {
    await connection.end();
  }
}

/**
 * Runs `fn` with the URL of a new account of the test database whose sessions start with
 * `SET SESSION <setting>`, through init_connect (which does not run for the root account, and
 * changes nothing for any other), and the value of `variable` in such a session.
 */
async function withAccountSetting(
  db: TestDatabase,
  variable: string,
  setting: string,
  fn: (url: string, value: string) => Promise<void>,
): Promise<void> {
  const k = db.knex();
  const user = unique();
  const [[{ previous }]] = await k.raw('SELECT @@GLOBAL.init_connect AS previous');
  await k.raw(`CREATE USER ?@'%'`, [user]);
  try {
    await k.raw(`GRANT ALL ON ??.* TO ?@'%'`, [db.name, user]);
    const [name, value] = setting.split(/ = (.*)/s) as [string, string];
    await k.raw(`SET GLOBAL init_connect = ?`, [
      `SET SESSION ${name} = IF(SUBSTRING_INDEX(CURRENT_USER(), '@', 1) = '${user}', ${value}, @@SESSION.${name})`,
    ]);
    const u = new URL(db.url);
    u.username = user;
    await fn(u.toString(), await mysqlSessionValue(u.toString(), variable));
  } finally {
    await k.raw('SET GLOBAL init_connect = ?', [previous]);
    await k.raw(`DROP USER ?@'%'`, [user]);
  }
}

/** The URL forms the tool accepts, as the controller writes them, for one test database. */
function urlForms(db: TestDatabase): string[] {
  if (db.dialect === 'sqlite') {
    return [db.url, `sqlite:///${relative(process.cwd(), db.url)}`, `sqlite:///${db.url}`];
  }
  const rest = db.url.replace(/^[a-z0-9+]+:\/\//, '');
  return db.dialect === 'postgres'
    ? ['postgres', 'postgresql', 'postgresql+psycopg2'].map((s) => `${s}://${rest}`)
    : ['mysql', 'mysql+pymysql', 'mysql+mysqlconnector', 'mariadb'].map((s) => `${s}://${rest}`);
}

const unique = () => `stepcfg_u_${process.pid}_${randomBytes(3).toString('hex')}`;

/** A server account with only SELECT on the test database (dropped afterwards). */
async function withReadOnlyUser(db: TestDatabase, fn: (url: string) => Promise<void>): Promise<void> {
  const k = db.knex();
  const user = unique();
  const u = new URL(db.url);
  u.username = user;
  if (db.dialect === 'postgres') {
    await k.raw(`CREATE ROLE ?? LOGIN`, [user]);
    await k.raw('GRANT USAGE ON SCHEMA public TO ??', [user]);
    await k.raw('GRANT SELECT ON ALL TABLES IN SCHEMA public TO ??', [user]);
    try {
      await fn(u.toString());
    } finally {
      await k.raw('DROP OWNED BY ??', [user]);
      await k.raw('DROP ROLE ??', [user]);
    }
  } else {
    await k.raw(`CREATE USER ?@'%'`, [user]);
    await k.raw(`GRANT SELECT ON ??.* TO ?@'%'`, [db.name, user]);
    try {
      await fn(u.toString());
    } finally {
      await k.raw(`DROP USER ?@'%'`, [user]);
    }
  }
}

/** A MySQL/MariaDB account with the given rights on the test database (dropped afterwards). */
async function withAccount(
  db: TestDatabase,
  rights: string,
  fn: (url: string) => Promise<void>,
  options = '',
): Promise<void> {
  const k = db.knex();
  const user = unique();
  await k.raw(`CREATE USER ?@'%' ${options}`, [user]);
  try {
    await k.raw(`GRANT ${rights} ON ??.* TO ?@'%'`, [db.name, user]);
    const u = new URL(db.url);
    u.username = user;
    await fn(u.toString());
  } finally {
    await k.raw(`DROP USER ?@'%'`, [user]);
  }
}

describeEachDialect('connections and names', (dialect, need) => {
  it('accepts every URL form of its dialect, and the STEPCFG_DB_URL / CTRL_DB_PATH defaults', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      for (const url of urlForms(db)) {
        const run = await cli(['--db', url, '--dry-run', '--json', '--quiet']);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(run.json().database.dialect).toBe(dialect);
        expect(run.json().summary.folded).toBe(22);
      }
      const fromEnv = await cli(['--dry-run', '--json'], {
        STEPCFG_DB_URL: db.url,
        CTRL_DB_PATH: '/nonexistent/sql.db',
      });
      expect(fromEnv.code).toBe(0);
      const fromCtrl = await cli(['--dry-run', '--json'], { CTRL_DB_PATH: urlForms(db).at(-1) });
      expect(fromCtrl.code).toBe(0);
      expect(fromCtrl.json().summary.folded).toBe(22);
    });
  });

  it('finds the tables by --schema (SQLite has only main)', async (ctx) => {
    need(ctx);
    if (dialect === 'sqlite') {
      await withDataset(dialect, 'sample', async (db) => {
        expect((await cli(['--db', db.url, '--schema', 'other'])).code).toBe(2);
        expect((await cli(['--db', db.url, '--schema', 'main', '--dry-run'])).code).toBe(0);
      });
      return;
    }
    await withDataset(dialect, 'sample', async (db) => {
      if (dialect === 'postgres') {
        const schema = unique();
        await db.knex().raw('CREATE SCHEMA ??', [schema]);
        await db.knex().raw('ALTER TABLE step_configuration SET SCHEMA ??', [schema]);
        await db.knex().raw('ALTER TABLE workflow SET SCHEMA ??', [schema]);
        expect((await cli(['--db', db.url, '--dry-run'])).code).toBe(1);
        const run = await cli(['--db', db.url, '--schema', schema, '--json']);
        expect(run.code).toBe(0);
        expect(run.json().summary.folded).toBe(22);
        const [row] = (await db.knex().raw('SELECT count(*) AS n FROM ??', [`${schema}.stepcfg_migrate_runs`])).rows;
        expect(Number(row.n)).toBe(1);
      } else {
        const other = new URL(db.url);
        other.pathname = '/test';
        const run = await cli(['--db', other.toString(), '--schema', db.name, '--json']);
        expect(run.code).toBe(0);
        expect(run.json().summary.folded).toBe(22);
      }
    });
  });

  // SQLite has no accounts; its read-only mode is the file's, tested where the file is read-only.
  const servers = (name: string, fn: (ctx: TestContext) => Promise<void>) => {
    if (dialect !== 'sqlite') it(name, fn);
  };
  servers(
    'dry run and status work for a read-only account; apply with it fails cleanly and writes nothing',
    async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        await withReadOnlyUser(db, async (url) => {
          const before = await dumpDatabase(db, { exclude: () => false });
          const dry = await cli(['--db', url, '--dry-run', '--json', '--quiet']);
          expect(dry.stderr).toBe('');
          expect(dry.code).toBe(0);
          expect((await cli(['status', '--db', url])).code).toBe(3);
          const apply = await cli(['--db', url]);
          expect(apply.code).toBe(1);
          expect(apply.stderr).toMatch(/may not UPDATE|denied/);
          expect(apply.stderr.trim().split('\n')).toHaveLength(1);
          expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
        });
      });
    },
  );

  servers(
    "the server's time limits (a statement's, a pause in a transaction): one line that names the limit, exit 1, nothing written",
    async (ctx) => {
      need(ctx);
      const db = await createTestDatabase(dialect);
      let cleanup = async () => {};
      try {
        await generateDatabase(db, 10_000);
        const k = db.knex();
        const before = await dumpDatabase(db, { exclude: () => false });
        let run;
        if (dialect === 'postgres') {
          // A limit for the tool's session only; at 1 ms some statement of a 10,000-row apply passes it.
          run = await runBin(['--db', db.url, '--yes'], { PGOPTIONS: '-c idle_in_transaction_session_timeout=1' });
          // The server ends the session; its reason, not the lost connection, is named.
          expect(run.stderr).toMatch(
            /ended the session at idle_in_transaction_session_timeout.*PGOPTIONS='-c idle_in_transaction_session_timeout=0'/,
          );
          expect(run.code).toBe(1);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
          run = await runBin(['--db', db.url, '--yes'], { PGOPTIONS: '-c statement_timeout=1' });
          expect(run.stderr).toMatch(/cancelled a statement at statement_timeout.*PGOPTIONS='-c statement_timeout=0'/);
        } else {
          // MariaDB: a limit for the account (MySQL's max_execution_time limits only SELECT).
          const user = unique();
          await k.raw(`CREATE USER ?@'%' WITH MAX_STATEMENT_TIME 0.001`, [user]);
          cleanup = async () => void (await k.raw(`DROP USER ?@'%'`, [user]));
          await k.raw(`GRANT ALL ON ??.* TO ?@'%'`, [db.name, user]);
          const u = new URL(db.url);
          u.username = user;
          run = await runBin(['--db', u.toString(), '--yes']);
          expect(run.stderr).toMatch(/stopped a statement at max_statement_time/);
        }
        expect(run.code).toBe(1);
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
        expect(run.stderr).toMatch(/nothing was written/);
        expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
      } finally {
        await cleanup();
        await db.drop();
      }
    },
  );

  if (dialect === 'mysql') {
    const dir = tempDir('stepcfg-connections-');
    // DDL commits at once here: the tool's tables are made before the fold's transaction.
    it('a drop that fails after its fold committed keeps the run record and backups; a re-run finishes it', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await readWorkflowSpecs(db);
        // Every right but LOCK TABLES, which the drop after the fold's commit needs.
        await withAccount(
          db,
          'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, CREATE TEMPORARY TABLES',
          async (url) => {
            const run = await cli(['--db', url, '--drop-table', '--yes', '--orphans-out', join(dir(), 'first.ndjson')]);
            expect(run.code).toBe(1);
            expect(run.stderr.trim().split('\n')).toHaveLength(1);
            expect(run.stderr).toMatch(/LOCK TABLES|denied/);
            expect(run.stderr).toMatch(/part of the run had committed: run the same command again/);
          },
        );
        const k = db.knex();
        const [record] = await k('stepcfg_migrate_runs').select('id', 'status');
        expect(record?.status).toBe('folded');
        const backups = await k('stepcfg_migrate_spec_backups').where({ run_id: record!.id }).count({ n: '*' });
        expect(Number(backups[0]!.n)).toBeGreaterThan(0);
        const rerun = await cli([
          '--db',
          db.url,
          '--drop-table',
          '--yes',
          '--json',
          '--orphans-out',
          join(dir(), 'second.ndjson'),
        ]);
        expect(rerun.code).toBe(0);
        expect(rerun.json().notes.join()).toContain(`finished the drop of run ${record!.id}`);
        expect((await cli(['rollback', '--db', db.url, '--yes'])).code).toBe(0);
        expect(await readWorkflowSpecs(db)).toEqual(before);
      });
    });

    it('a run that cannot remove the tables it made says so, and says that no data changed', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await dumpDatabase(db);
        // No temporary tables (the fold's stage) and no DROP (its own tables, afterwards).
        await withAccount(db, 'SELECT, INSERT, UPDATE, DELETE, CREATE', async (url) => {
          const run = await cli(['--db', url, '--yes']);
          expect(run.code).toBe(1);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
          expect(run.stderr).toMatch(
            /denied.*no data was changed, but the tool's empty tables stepcfg_migrate_runs and stepcfg_migrate_spec_backups could not be removed/,
          );
          expect(run.stderr).not.toMatch(/nothing was written/);
        });
        expect(await dumpDatabase(db)).toBe(before);
        expect(await recordedRuns(db)).toBe(0);
        expect((await cli(['cleanup', '--db', db.url, '--yes'])).code).toBe(0);
        expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
      });
    });

    it('a blocked run that cannot remove the tables it made keeps exit 3 and its report, with a note', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'conflict', async (db) => {
        const before = await dumpDatabase(db);
        await withAccount(db, 'SELECT, INSERT, UPDATE, DELETE, CREATE, CREATE TEMPORARY TABLES', async (url) => {
          const run = await cli(['--db', url, '--yes', '--json']);
          expect(run.code).toBe(3);
          expect(run.json().summary.conflicts).toBeGreaterThan(0);
          expect(run.json().notes).toContain(
            "no data was changed, but the tool's empty tables stepcfg_migrate_runs and stepcfg_migrate_spec_backups " +
              'could not be removed (the cleanup command removes them)',
          );
        });
        expect(await dumpDatabase(db)).toBe(before);
        expect(await recordedRuns(db)).toBe(0);
      });
    });

    it("the account's time limit does not hold for the tool's removal of its own tables", async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        await withAccount(
          db,
          'ALL',
          async (url) => {
            const adapter = await openAdapter(parseDatabaseUrl(url), { readOnly: false, timeoutMs: 5_000, label: 't' });
            try {
              await expect(adapter.query('SELECT SLEEP(1)')).rejects.toThrow(/max_statement_time/);
              await adapter.liftTimeLimits!();
              await expect(adapter.query('SELECT SLEEP(1) AS s')).resolves.toEqual([{ s: 0 }]);
            } finally {
              await adapter.close();
            }
          },
          // Room for the session's own setup statements on a loaded machine; none for a second's sleep.
          'WITH MAX_STATEMENT_TIME 0.2',
        );
      });
    });
  }

  if (dialect === 'postgres') {
    it("a database set to another DateStyle: items are still appended in their rows' created order", async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const k = db.knex();
        const [workflow] = await k('workflow').select('uid', 'project_id').orderBy('uid').limit(1);
        // Day first, these two would sort the other way round as text.
        for (const [name, created] of [
          ['z-january', '2025-01-20 10:00:00'],
          ['a-february', '2025-02-10 10:00:00'],
        ]) {
          await k('step_configuration').insert({
            project_id: workflow.project_id,
            workflow_id: workflow.uid,
            version: '1',
            uid: `sc-${name}`,
            name,
            created,
            spec: '{"step_name": "S", "kwargs": {}}',
          });
        }
        await k.raw(`ALTER DATABASE ?? SET DateStyle = 'SQL, DMY'`, [db.name]);
        const apply = await cli(['--db', db.url, '--json', '--quiet', '--skip-invalid']);
        expect(apply.stderr).toBe('');
        expect(apply.code).toBe(0);
        const spec = (await readWorkflowSpecs(db)).find((w) => w.uid === workflow.uid)?.spec ?? '';
        expect(spec).toContain('{"name": "z-january"');
        expect(spec.indexOf('{"name": "z-january"')).toBeLessThan(spec.indexOf('{"name": "a-february"'));
      });
    });
  }

  // MySQL/MariaDB only: session settings that the server gives an account at login.
  if (dialect === 'mysql') {
    it('a server whose sql_mode has NO_BACKSLASH_ESCAPES: apply and rollback keep every backslash and quote', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const k = db.knex();
        const tricky = String.raw`{"note": "a \"quoted\" word, a back\\slash and a tab\t", "n": 1}`;
        // A workflow that has step rows to fold.
        const [workflow] = await k('workflow')
          .select('uid')
          .whereIn('uid', k('step_configuration').select('workflow_id'))
          .orderBy('uid')
          .limit(1);
        await k('workflow').update({ spec: tricky }).where({ uid: workflow.uid });
        const before = await dumpDatabase(db);
        const setting = "sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')";
        await withAccountSetting(db, 'sql_mode', setting, async (url, value) => {
          expect(value).toContain('NO_BACKSLASH_ESCAPES');
          const apply = await cli(['--db', url, '--json', '--quiet']);
          expect(apply.stderr).toBe('');
          expect(apply.code).toBe(0);
          const after = (await readWorkflowSpecs(db)).filter((w) => w.uid === workflow.uid);
          expect(after.length).toBeGreaterThan(0);
          for (const w of after)
            expect(w.spec?.startsWith(tricky.slice(0, -1) + ', "step_configurations": [')).toBe(true);
          expect((await cli(['status', '--db', url])).code).toBe(0);
          const rollback = await cli(['--db', url, '--rollback', '--yes', '--quiet']);
          expect(rollback.stderr).toBe('');
          expect(rollback.code).toBe(0);
          expect(await dumpDatabase(db)).toBe(before);
        });
      });
    });

    it('a server whose sessions start with autocommit off: a drop is recorded as done, status and rollback work', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await dumpDatabase(db);
        await withAccountSetting(db, 'autocommit', 'autocommit = 0', async (url, value) => {
          expect(value).toBe('0');
          const orphansOut = join(tmpdir(), `stepcfg-autocommit-${process.pid}-${randomBytes(3).toString('hex')}.json`);
          try {
            const apply = await cli([
              '--db',
              url,
              '--drop-table',
              '--yes',
              '--skip-invalid',
              '--orphans-out',
              orphansOut,
              '--json',
              '--quiet',
            ]);
            expect(apply.stderr).toBe('');
            expect(apply.code).toBe(0);
          } finally {
            rmSync(orphansOut, { force: true });
          }
          const runs = await db.knex()('stepcfg_migrate_runs').select('mode', 'status', 'table_dropped');
          expect(runs).toEqual([{ mode: 'apply', status: 'applied', table_dropped: 1 }]);
          // status reads the kept copy of the dropped table: every foldable row is in its workflow.
          const status = await cli(['status', '--db', url, '--json']);
          expect(status.json().status!.pending).toBe(0);
          const rollback = await cli(['--db', url, '--rollback', '--yes', '--quiet']);
          expect(rollback.stderr).toBe('');
          expect(rollback.code).toBe(0);
          expect(await dumpDatabase(db)).toBe(before);
        });
      });
    });
  }

  servers('never shows a password: not in output, report, errors or the run table', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const secret = `Pw-${randomBytes(6).toString('hex')}`;
      const k = db.knex();
      const u = new URL(db.url);
      let cleanup = async () => {};
      if (dialect === 'postgres') {
        u.password = secret; // trust authentication accepts it; the tool must still hide it
      } else {
        const user = unique();
        await k.raw(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, secret]);
        await k.raw(`GRANT ALL ON ??.* TO ?@'%'`, [db.name, user]);
        u.username = user;
        u.password = secret;
        cleanup = async () => void (await k.raw(`DROP USER ?@'%'`, [user]));
      }
      try {
        const report = join(tmpdir(), `stepcfg-secret-${process.pid}-${dialect}.json`);
        const runs = [
          await cli(['--db', u.toString(), '--dry-run', '--verbose']),
          await cli(['--db', u.toString(), '--json', '--report', report]),
          await runBin(['--db', u.toString().replace(secret, 'wrong-' + secret), '--json']),
          await runBin(['--db', `${u.protocol}//${u.username}@127.0.0.1:1/x`], {
            PGPASSWORD: secret,
            MYSQL_PWD: secret,
          }),
        ];
        expect(runs[1]!.code).toBe(0);
        expect(runs[2]!.code).toBe(dialect === 'postgres' ? 0 : 1);
        expect(runs[3]!.code).toBe(1);
        for (const run of runs) expect(run.stdout + run.stderr).not.toContain(secret);
        expect(readFileSync(report, 'utf8')).not.toContain(secret);
        expect(readFileSync(report, 'utf8')).toContain(':***@');
        rmSync(report);
        const table = JSON.stringify(await k('stepcfg_migrate_runs').select());
        expect(table).not.toContain(secret);
      } finally {
        await cleanup();
      }
    });
  });
});
