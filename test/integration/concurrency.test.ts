import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { cli } from '../support/cli.js';
import {
  createTestDatabase,
  dumpDatabase,
  listTables,
  readWorkflowSpecs,
  recordedRuns,
  withDataset,
  type TestDatabase,
} from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { generateDatabase, withGenerated } from '../support/generate.js';
import { sleep, startBin, stateDigest } from '../support/processes.js';
import { killSession, lockWorkflowRow, sessionWaitingOn, type HeldLock } from '../support/sessions.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-concurrency-');
const WRITER = fileURLToPath(new URL('../support/writer.mjs', import.meta.url));

/** Holds the tool's run lock from another session, as a concurrent run would; returns the release. */
async function holdLock(db: TestDatabase): Promise<() => Promise<void>> {
  if (db.dialect === 'sqlite') {
    const other = new Database(db.url);
    other.exec('BEGIN IMMEDIATE');
    return async () => {
      other.exec('ROLLBACK');
      other.close();
    };
  }
  if (db.dialect === 'postgres') {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x57ec, 'stepcfg-migrate:public.workflow']);
    return () => client.end();
  }
  const connection = await mysql.createConnection(db.url);
  await connection.query('SELECT GET_LOCK(?, 0)', [`stepcfg-migrate:${db.name}.workflow`]);
  return () => connection.end();
}

/**
 * A stand-in controller edits workflow specs and inserts step rows while an apply runs: every edit
 * survives, every new row is folded or still pending, and a second run folds the rest.
 */
async function controllerWritesDuringApply(db: TestDatabase): Promise<void> {
  const dialect = db.dialect;
  const writer = spawn(process.execPath, [WRITER, dialect, db.url, '8', '10000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  writer.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const written = new Promise<void>((resolve) => writer.on('close', () => resolve()));
  await sleep(1000);
  const apply = await startBin(['--db', db.url, '--json', '--quiet', '--lock-timeout', '60']).done;
  await written;
  expect(apply.code, apply.stderr).toBe(0);
  const { touched, inserted } = JSON.parse(out) as {
    touched: string[];
    inserted: { name: string; workflow: string }[];
  };
  expect(touched.length).toBeGreaterThan(20);
  const specs = new Map((await readWorkflowSpecs(db)).filter((s) => s.version === '1').map((s) => [s.uid, s.spec!]));
  for (const uid of touched) {
    const spec = specs.get(uid)!;
    expect(spec, uid).toContain('"branch": "edited"'); // the controller's edit survived the fold
    expect(spec, uid).toContain('"step_configurations"'); // and the fold survived the edit
  }
  const folded = inserted.filter((row) => specs.get(row.workflow)!.includes(`{"name": "${row.name}"`)).length;
  const status = await cli(['status', '--db', db.url, '--json']);
  expect(status.json().status!.pending).toBe(inserted.length - folded);
  const rerun = await cli(['--db', db.url, '--json', '--quiet']);
  expect(rerun.json().summary.folded).toBe(inserted.length - folded);
  expect((await cli(['status', '--db', db.url])).code).toBe(0);
}

describeEachDialect('concurrency and crashes', (dialect, need) => {
  it('a second writing run waits --lock-timeout, exits 4 naming the holder, and writes nothing; a dry run takes no lock', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      await cli(['--db', db.url, '--quiet']); // creates the tool's tables
      await cli(['--db', db.url, '--rollback', '--yes', '--quiet']);
      await db.knex()('stepcfg_migrate_runs').insert({
        id: '0000aaaa-0000-0000-0000-000000000000',
        mode: 'apply',
        status: 'running',
        started_at: '2026-11-26T10:00:00.000Z',
        host: 'ops-host-7',
        pid: 4242,
        table_dropped: 0,
      });
      const release = await holdLock(db);
      try {
        const before = await dumpDatabase(db, { exclude: () => false });
        const started = Date.now();
        for (const args of [
          [],
          ['--rollback', '--yes'],
          ['--drop-table', '--yes', '--orphans-out', join(dir(), `lock-${dialect}.json`)],
        ]) {
          const run = await cli(['--db', db.url, '--lock-timeout', '0.5', ...args]);
          expect(run.code).toBe(4);
          expect(run.stderr).toMatch(
            /another stepcfg-migrate run holds the lock \(run 0000aaaa-\S+ on host ops-host-7, pid 4242, started 2026-11-26T10:00:00.000Z[;)]/,
          );
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
        }
        expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
        expect(await dumpDatabase(db, { exclude: () => false })).toBe(before);
        const dry = await cli(['--db', db.url, '--dry-run', '--lock-timeout', '0.5', '--json', '--quiet']);
        expect(dry.code).toBe(0);
        expect(dry.json().summary.folded).toBe(22);
      } finally {
        await release();
      }
      expect((await cli(['--db', db.url, '--lock-timeout', '0.5', '--quiet'])).code).toBe(0);
    });
  });

  it('two applies started together: one folds, the other waits and finds nothing, or exits 4; as if run once', async (ctx) => {
    need(ctx);
    await withGenerated(dialect, 20_000, async (db) => {
      const single = await createTestDatabase(dialect);
      try {
        await generateDatabase(single, 20_000);
        expect((await cli(['--db', single.url, '--quiet'])).code).toBe(0);
        const [a, b] = [
          startBin(['--db', db.url, '--json', '--quiet']),
          startBin(['--db', db.url, '--json', '--quiet']),
        ];
        const results = await Promise.all([a.done, b.done]);
        const folded = results.filter((r) => r.code === 0 && JSON.parse(r.stdout).summary.folded > 0);
        expect(folded).toHaveLength(1);
        const other = results.find((r) => r !== folded[0])!;
        if (other.code === 0)
          expect(JSON.parse(other.stdout).summary).toMatchObject({ folded: 0, workflowsUpdated: 0 });
        else expect(other.code).toBe(4);
        expect(await readWorkflowSpecs(db)).toEqual(await readWorkflowSpecs(single));
      } finally {
        await single.drop();
      }
    });
  });

  it('the controller keeps writing during an apply: no update lost, every new row folded or still pending', async (ctx) => {
    need(ctx);
    await withGenerated(dialect, 100_000, controllerWritesDuringApply);
  }, 120_000);

  if (dialect === 'postgres') {
    const title =
      'the same where the database defaults to REPEATABLE READ: the apply still waits for the rows the controller changes';
    it(
      title,
      async (ctx) => {
        need(ctx);
        await withGenerated(dialect, 100_000, async (db) => {
          await db.knex().raw(`ALTER DATABASE ?? SET default_transaction_isolation = 'repeatable read'`, [db.name]);
          await controllerWritesDuringApply(db);
        });
      },
      120_000,
    );
  }

  it('a signal that came before the run reached the database: exit 143, interrupted, nothing written', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await stateDigest(db);
      const err: Buffer[] = [];
      const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
      const code = await main({
        argv: ['--db', db.url, '--quiet'],
        env: {},
        stdout: new PassThrough(),
        stderr,
        signal: AbortSignal.abort('SIGTERM'),
      });
      expect(code).toBe(143);
      expect(Buffer.concat(err).toString()).toMatch(/interrupted by SIGTERM: .*nothing was written/);
      expect(await stateDigest(db)).toBe(before);
    });
  });

  it('SIGINT and SIGTERM roll back, say so, and exit 130 / 143; a killed run leaves no lock behind', async (ctx) => {
    need(ctx);
    await withGenerated(dialect, 100_000, async (db) => {
      const before = await stateDigest(db);
      for (const [signal, code] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
      ] as const) {
        const run = startBin([
          '--db',
          db.url,
          '--drop-table',
          '--yes',
          '--orphans-out',
          join(dir(), `sig-${dialect}-${signal}.json`),
        ]);
        await sleep(800);
        run.child.kill(signal);
        const ended = await run.done;
        expect(ended.code).toBe(code);
        expect(ended.stderr).toContain(`interrupted by ${signal}`);
        expect(ended.stderr).not.toMatch(/\n\s+at /);
        expect(await stateDigest(db)).toBe(before);
      }
      const killed = startBin(['--db', db.url]);
      await sleep(800);
      killed.child.kill('SIGKILL');
      await killed.done;
      const next = await cli(['--db', db.url, '--lock-timeout', '3', '--json', '--quiet']);
      expect(next.code).toBe(0);
      expect(next.json().summary.folded).toBeGreaterThan(0);
    });
  });

  if (dialect !== 'sqlite') {
    it('a workflow row locked by another session in a batch read ahead: the lock timeout is named, nothing written', async (ctx) => {
      need(ctx);
      await withGenerated(dialect, 2_000, async (db) => {
        const before = await stateDigest(db);
        // Batches of 20 workflows: wf-00000150 is read ahead, while earlier batches are being staged.
        const holder = await db.knex().transaction();
        try {
          await holder.raw("SELECT uid FROM workflow WHERE uid = 'wf-00000150' FOR UPDATE");
          const run = await cli(['--db', db.url, '--batch-size', '20', '--lock-timeout', '1']);
          expect(run.code).toBe(1);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
          expect(run.stderr).toMatch(
            /another session kept a lock on the tables for longer than --lock-timeout \(1 s\); nothing was written/,
          );
        } finally {
          await holder.rollback();
        }
        expect(await stateDigest(db)).toBe(before);
      });
    });

    it('a connection killed by the server mid-run: exit 1, nothing half-done', async (ctx) => {
      need(ctx);
      await withGenerated(dialect, 20_000, async (db) => {
        const before = await stateDigest(db);
        // 2,000 workflows in batches of 100: the run locks and stages the first batches in its write
        // transaction, then waits for wf-00001000 (batch 11), held by another session. Once the server
        // shows the run waiting for it, the server ends the run's session; then the lock is released.
        const holder = await lockWorkflowRow(db, 'wf-00001000');
        const run = startBin(['--db', db.url, '--batch-size', '100', '--lock-timeout', '120']);
        try {
          await killSession(db, await sessionWaitingOn(db, holder));
        } catch (e) {
          run.child.kill('SIGKILL');
          throw e;
        } finally {
          await holder.release();
        }
        const ended = await run.done;
        expect(ended.code, ended.stderr).toBe(1);
        expect(ended.stderr.trim().split('\n')).toHaveLength(1);
        expect(ended.stderr).toMatch(/connection|terminat|lost|killed/i);
        expect(ended.stderr).toMatch(new RegExp(`; ${unchanged(dialect)}\n$`));
        expect(await stateDigest(db)).toBe(before);
        expect(await toolTablesLeft(db)).toEqual(dialect === 'mysql' ? 0 : undefined);
        expect((await cli(['--db', db.url, '--quiet'])).code).toBe(0); // and a re-run completes it
      });
    });
  }
});

/** A `sqlite3` shell that holds the file's write lock (`BEGIN IMMEDIATE`), as a controller's transaction would. */
async function sqliteShellHolding(file: string): Promise<() => Promise<void>> {
  const shell = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const held = new Promise<void>((resolve) =>
    shell.stdout.on('data', (c: Buffer) => ((out += c.toString()), out.includes('held') && resolve())),
  );
  shell.stdin.write("BEGIN IMMEDIATE;\nSELECT 'held';\n");
  await held;
  const closed = new Promise<void>((resolve) => shell.on('close', () => resolve()));
  return async () => {
    shell.stdin.end('ROLLBACK;\n');
    await closed;
  };
}

/** Resolves once the SQL log shows `statement`: the run has sent it, and waits on it or after it. */
async function logShows(file: string, statement: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(existsSync(file) && statement.test(readFileSync(file, 'utf8')))) {
    if (Date.now() > deadline) throw new Error(`the SQL log never showed ${statement}`);
    await sleep(50);
  }
}

/**
 * What a run that was stopped on its connection says it left. On MySQL/MariaDB, where DDL commits
 * at once, the tool made its own (empty) tables before the transaction, and a lost connection
 * cannot drop them again: the run says so instead of that nothing was written.
 */
function unchanged(dialect: string): string {
  // As a pattern: the brackets are escaped.
  return dialect === 'mysql'
    ? "no data was changed, but the tool's empty tables stepcfg_migrate_runs and stepcfg_migrate_spec_backups " +
        'could not be removed \\(the cleanup command removes them\\)'
    : 'nothing was written';
}

/** The runs recorded in the tool's tables, where they were left; undefined where there are none. */
async function toolTablesLeft(db: TestDatabase): Promise<number | undefined> {
  const tables = (await listTables(db)).filter((t) => t.startsWith('stepcfg_migrate_'));
  return tables.length === 0 ? undefined : recordedRuns(db);
}

describeEachDialect('signals while a run waits', (dialect, need) => {
  it('SIGTERM while the run waits for another session (a held row; on SQLite the file): 143, one line, nothing written', async (ctx) => {
    need(ctx);
    await withGenerated(dialect, 2_000, async (db) => {
      const before = await stateDigest(db);
      const log = join(dir(), `term-${dialect}.sql.log`);
      const held =
        dialect === 'sqlite' ? { release: await sqliteShellHolding(db.url) } : await lockWorkflowRow(db, 'wf-00000150');
      // --lock-timeout 120: an exit before it was the signal's doing.
      const run = startBin(['--db', db.url, '--batch-size', '20', '--lock-timeout', '120'], { STEPCFG_SQL_LOG: log });
      try {
        if ('session' in held) await sessionWaitingOn(db, held as HeldLock);
        else await logShows(log, /BEGIN IMMEDIATE/);
        run.child.kill('SIGTERM');
        const ended = await run.done;
        expect(ended.signal).toBeNull(); // never death by the signal
        expect(ended.code, ended.stderr).toBe(143);
        expect(ended.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            new RegExp(`^stepcfg-migrate: error: interrupted by SIGTERM: .*${unchanged(dialect)}$`),
          ),
        ]);
      } finally {
        run.child.kill('SIGKILL');
        await held.release();
      }
      expect(await stateDigest(db)).toBe(before);
      expect(await toolTablesLeft(db)).toEqual(dialect === 'mysql' ? 0 : undefined);
    });
  });

  if (dialect === 'sqlite') {
    it('a file held past --lock-timeout by another program is named as such, not as a run of this tool (exit 4)', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const release = await sqliteShellHolding(db.url);
        try {
          const run = await cli(['--db', db.url, '--lock-timeout', '1']);
          expect(run.code).toBe(4);
          expect(run.stderr.trim().split('\n')).toEqual([
            'stepcfg-migrate: error: the database file is locked by another process, such as the controller; ' +
              'waited 1 s (--lock-timeout); nothing was written',
          ]);
        } finally {
          await release();
        }
      });
    });
  }
});
