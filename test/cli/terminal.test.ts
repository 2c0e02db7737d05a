import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { listTables, withDataset } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { withGenerated } from '../support/generate.js';
import { sleep, stateDigest } from '../support/processes.js';
import { lockWorkflowRow, sessionWaitingOn } from '../support/sessions.js';
import { startOnTerminal, visibleLines, type OnTerminal } from '../support/terminal.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-terminal-');

/** Runs `fn` with the run ended however it went (a failed expectation must not leave it running). */
async function ending<T>(run: OnTerminal, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    run.child.kill('SIGKILL');
    throw e;
  }
}

/** A `sqlite3` shell that holds the file's write lock (`BEGIN IMMEDIATE`) until released. */
async function sqliteShellHolding(file: string): Promise<{ release: () => Promise<void> }> {
  const shell = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const held = new Promise<void>((resolve) =>
    shell.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('held')) resolve();
    }),
  );
  shell.stdin.write("BEGIN IMMEDIATE;\nSELECT 'held';\n");
  await held;
  const closed = new Promise<void>((resolve) => shell.on('close', () => resolve()));
  return {
    release: async () => {
      shell.stdin.end('ROLLBACK;\n');
      await closed;
    },
  };
}

/** Resolves once the SQL log shows `statement` (the run has sent it, and so waits on it or after it). */
async function logShows(file: string, statement: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(file) && statement.test(readFileSync(file, 'utf8')))) {
    if (Date.now() > deadline) throw new Error(`the SQL log never showed ${statement}`);
    await sleep(50);
  }
}

/** The confirmation question, once shown whole (readline may move the cursor after it). */
const PROMPT = /\[y\/N\] /;

describeEachDialect('on a terminal', (dialect, need) => {
  if (dialect !== 'sqlite') {
    it('Ctrl-C while planning waits for a row held elsewhere: exit 130, one line, nothing written, none left running', async (ctx) => {
      need(ctx);
      await withGenerated(dialect, 2_000, async (db) => {
        await cli(['--db', db.url, '--quiet']); // creates the tool's tables
        await cli(['--db', db.url, '--rollback', '--yes', '--quiet']);
        const before = await stateDigest(db);
        // Batches of 20 workflows: the run plans and stages the first ones, then waits for wf-00000150.
        const holder = await lockWorkflowRow(db, 'wf-00000150');
        const run = startOnTerminal(['--db', db.url, '--yes', '--batch-size', '20', '--lock-timeout', '120']);
        let ended;
        try {
          await ending(run, () => sessionWaitingOn(db, holder));
          run.type('\x03');
          ended = await run.done;
          // Its server session ended with it, though it was waiting: the next run is not kept out by
          // the run lock (exit 4), it gets it and then waits for the held row itself (exit 1).
          const next = await cli(['--db', db.url, '--batch-size', '20', '--lock-timeout', '1']);
          expect(next.stderr).toMatch(/another session kept a lock on the tables/);
          expect(next.code).toBe(1);
        } finally {
          await holder.release();
        }
        expect(ended.code, ended.output).toBe(130);
        expect(visibleLines(ended.output)).toEqual([
          expect.stringMatching(/^\^?C?stepcfg-migrate: error: interrupted by SIGINT: .*nothing was written$/),
        ]);
        expect(await stateDigest(db)).toBe(before);
        const status = await cli(['status', '--db', db.url, '--json']);
        expect(status.json().runs!.map((r) => r.status)).not.toContain('running');
      });
    });
  }

  if (dialect === 'sqlite') {
    it('Ctrl-C while the file is held by a sqlite3 shell: exit 130 at once, not after --lock-timeout', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await stateDigest(db);
        const log = join(dir(), 'busy.sql.log');
        const shell = await sqliteShellHolding(db.url);
        try {
          const run = startOnTerminal(['--db', db.url, '--yes', '--lock-timeout', '60'], { STEPCFG_SQL_LOG: log });
          await ending(run, () => logShows(log, /BEGIN IMMEDIATE/));
          const sent = Date.now();
          run.type('\x03');
          const ended = await run.done;
          // --lock-timeout is 60 s: an exit well before it was the interruption, not the timeout.
          expect(Date.now() - sent).toBeLessThan(30_000);
          expect(ended.code, ended.output).toBe(130);
          expect(visibleLines(ended.output)).toEqual([
            expect.stringMatching(/^\^?C?stepcfg-migrate: error: interrupted by SIGINT: .*nothing was written$/),
          ]);
        } finally {
          await shell.release();
        }
        expect(await stateDigest(db)).toBe(before);
      });
    });
  }

  it('the --drop-table prompt: Ctrl-C exits 130, "n" and end of input cancel (3), "y" drops (0)', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await stateDigest(db);
      const ask = (name: string) =>
        startOnTerminal(['--db', db.url, '--drop-table', '--orphans-out', join(dir(), `${dialect}-${name}.json`)]);

      const interrupted = ask('ctrl-c');
      await ending(interrupted, () => interrupted.printed(PROMPT));
      interrupted.type('\x03');
      const one = await interrupted.done;
      expect(one.code, one.output).toBe(130);
      const lines = visibleLines(one.output);
      expect(lines.at(-1)).toMatch(/^stepcfg-migrate: error: interrupted by SIGINT: .*nothing was written$/);
      expect(lines.at(-2)).toMatch(/\[y\/N\]$/); // the prompt keeps its line
      expect(await stateDigest(db)).toBe(before);
      expect(existsSync(join(dir(), `${dialect}-ctrl-c.json`))).toBe(false);

      for (const [name, keys] of [
        ['no', 'n\r'],
        ['empty', '\r'],
        ['eof', '\x04'],
      ] as const) {
        const declined = ask(name);
        await ending(declined, () => declined.printed(PROMPT));
        declined.type(keys);
        const ended = await declined.done;
        expect(ended.code, ended.output).toBe(3);
        expect(visibleLines(ended.output).at(-1)).toBe('Cancelled at the question; nothing was written.');
        expect(ended.output).not.toContain('no terminal');
        expect(await stateDigest(db)).toBe(before);
      }

      const yes = ask('yes');
      await ending(yes, () => yes.printed(PROMPT));
      yes.type('y\r');
      const done = await yes.done;
      expect(done.code, done.output).toBe(0);
      expect(await listTables(db)).not.toContain('step_configuration');
    });
  });

  it('kill -9 of a run held at the prompt: status lists it as interrupted, the next apply records it so', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      await cli(['--db', db.url, '--quiet']); // creates the tool's tables
      await cli(['--db', db.url, '--rollback', '--yes', '--quiet']);
      const run = startOnTerminal(['--db', db.url, '--drop-table', '--orphans-out', join(dir(), `${dialect}-k9.json`)]);
      await ending(run, () => run.printed(PROMPT));
      // The run recorded itself as `running` before it asked: that record names its process.
      const [record] = await db.knex()('stepcfg_migrate_runs').where({ status: 'running' }).select('id', 'pid');
      expect(record).toBeDefined();
      process.kill(Number(record!.pid), 'SIGKILL');
      await run.done;

      const status = await cli(['status', '--db', db.url, '--json']);
      expect(status.json().runs!.find((r) => r.id === record!.id)?.status).toBe('interrupted');
      const [still] = await db.knex()('stepcfg_migrate_runs').where({ id: record!.id }).select('status');
      expect(still!.status).toBe('running'); // status only reads

      const next = await cli(['--db', db.url, '--quiet', '--lock-timeout', '30']);
      expect(next.code, next.stderr).toBe(0);
      const [after] = await db.knex()('stepcfg_migrate_runs').where({ id: record!.id }).select('status');
      expect(after!.status).toBe('interrupted');
    });
  });
});
