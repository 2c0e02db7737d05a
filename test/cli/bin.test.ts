import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runBin } from '../support/cli.js';
import { createTestDatabase, dumpDatabase, loadDataset, loadSchema, type TestDatabase } from '../support/databases.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-cli-');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const SAMPLE = new URL('../../fixtures/sample.db', import.meta.url).pathname;

/** A private copy of the bundled sample database. */
function sampleCopy(name: string): string {
  const file = join(dir(), name);
  copyFileSync(SAMPLE, file);
  return file;
}

/** One line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(run: { stdout: string; stderr: string }, pattern: RegExp) {
  expect(run.stdout).toBe('');
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^stepcfg-migrate: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('the installed command', () => {
  it('prints its version and help', async () => {
    const version = await runBin(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
    const help = await runBin(['--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--db',
      '--dry-run',
      '--on-conflict',
      '--skip-invalid',
      '--strict',
      '--json',
      '--report',
      '--step-table',
      '--schema',
      'Exit codes',
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--db', 'x.db', '--on-conflict', 'maybe'], /--on-conflict.*maybe/],
    [['--db', 'x.db', '--step-table', 'x; drop table workflow'], /--step-table must be a plain SQL name/],
    [['--db', 'x.db', '--workflow-table', 'a"b'], /--workflow-table must be a plain SQL name/],
    [['--db', 'x.db', '--schema', "s'"], /--schema must be a plain SQL name/],
    [['--db', 'x.db', '--quiet', '--verbose'], /--quiet and --verbose/],
    [['status', '--db', 'x.db', '--dry-run'], /--dry-run is not an option of status .*help status/],
    [['migrate', '--db', 'x.db'], /unknown command "migrate"/],
    [['postgresql://u:Sekr3tPW@h/db'], /unknown command \(a URL\? the database goes with --db\)/],
    [['stauts', '--db', 'x.db'], /unknown command "stauts" \(did you mean "status"\?\)/],
    [
      ['rollback', '--db', 'x.db', '--drop-table'],
      /--drop-table is not an option of rollback \(it goes with plan, apply\)/,
    ],
    [['--db', 'oracle://h/db'], /unsupported database URL scheme/],
    [['--db', 'x.db', '--lock-timeout', 'soon'], /--lock-timeout takes a positive number/],
    [['--db', 'x.db', '--run', 'abc'], /--run and --force go with --rollback/],
    [['--db', 'x.db', '--rollback', '--drop-table'], /--drop-table belong to the fold, not to --rollback/],
    [['status', '--db', 'x.db', '--orphans-out', 'o.json'], /--orphans-out is not an option of status/],
    [['cleanup', '--db', 'x.db', '--if-exists'], /--if-exists is not an option of cleanup/],
    [['cleanup', '--db', 'x.db', '--strict'], /--strict is not an option of cleanup/],
    [['--db', 'postgresql://h/db', '--backup-file', 'b.db'], /--backup-file works with SQLite only/],
    [['--db', 'x.db', '--orphans-out', '/no/such/dir/o.json'], /cannot write into \/no\/such\/dir/],
    [['--db', 'x.db', '--quiet', '--verbose', '--step-table', '1x'], /--quiet and --verbose.*; --step-table must be/],
    [[], /no database given/],
  ])('refuses %j with exit 2 and one line', async (args, pattern) => {
    const run = await runBin(args);
    expect(run.code).toBe(2);
    expectOneLineError(run, pattern);
  });

  it('never creates a missing SQLite file, and refuses directories and non-SQLite files', async () => {
    const missing = join(dir(), 'missing.db');
    const run = await runBin(['--db', missing]);
    expect(run.code).toBe(1);
    expectOneLineError(run, /database file not found/);
    expect(existsSync(missing)).toBe(false);
    expect((await runBin(['--db', `sqlite:///${missing}`, '--dry-run'])).code).toBe(1);
    expect(existsSync(missing)).toBe(false);

    expectOneLineError(await runBin(['--db', dir()]), /is a directory/);
    const text = join(dir(), 'notes.txt');
    writeFileSync(text, 'not a database\n');
    const before = sha(text);
    const notSqlite = await runBin(['--db', text]);
    expect(notSqlite.code).toBe(1);
    expectOneLineError(notSqlite, /not a SQLite database/);
    expect(sha(text)).toBe(before);
  });

  it('reports unreachable servers and unknown databases in one line with exit 1', async () => {
    const unknownPg = await runBin(['--db', 'postgresql://postgres@127.0.0.1:5432/stepcfg_no_such_db']);
    expect(unknownPg.code).toBe(1);
    expectOneLineError(unknownPg, /database "stepcfg_no_such_db" does not exist/);
    const unknownMy = await runBin(['--db', 'mysql://root@127.0.0.1:3306/stepcfg_no_such_db']);
    expect(unknownMy.code).toBe(1);
    expectOneLineError(unknownMy, /Unknown database 'stepcfg_no_such_db'/);
    const role = await runBin(['--db', 'postgresql://stepcfg_no_such_role@127.0.0.1:5432/test']);
    expect(role.code).toBe(1);
    expectOneLineError(role, /refused the login: role "stepcfg_no_such_role" does not exist/);
    const noHost = await runBin(['--db', 'postgresql://postgres@stepcfg-no-such-host.invalid/test']);
    expect(noHost.code).toBe(1);
    expectOneLineError(noHost, /host not found/);
    const refused = await runBin(['--db', 'postgresql://postgres@127.0.0.1:1/test']);
    expect(refused.code).toBe(1);
    expectOneLineError(refused, /connection refused/);
    const refusedMy = await runBin(['--db', 'mysql://root@127.0.0.1:1/test']);
    expect(refusedMy.code).toBe(1);
    expectOneLineError(refusedMy, /connection refused/);
  });

  it('with --json, an error is still one JSON object on stdout', async () => {
    const run = await runBin(['--db', join(dir(), 'nope.db'), '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ reportVersion: 1, mode: 'apply', error: { exitCode: 1 } });
  });

  it('with --json, a usage error is the JSON error object too, naming the command', async () => {
    const flag = await runBin(['plan', '--db', 'x.db', '--bogus', '--json']);
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stdout)).toMatchObject({ mode: 'dry-run', error: { exitCode: 2 } });
    const url = await runBin(['rollback', '--db', 'oracle://u:Sekr3tPW@h/db', '--json']);
    expect(url.code).toBe(2);
    expect(JSON.parse(url.stdout)).toMatchObject({ mode: 'rollback', error: { exitCode: 2 } });
    expect(url.stdout + url.stderr).not.toContain('Sekr3tPW');
  });

  it('a blocked run exits 3, prints its report, and leaves the file byte for byte', async () => {
    const db: TestDatabase = await createTestDatabase('sqlite');
    try {
      await loadSchema(db);
      await loadDataset(db, 'conflict');
      await db.knex().destroy();
      const before = sha(db.url);
      const run = await runBin(['--db', db.url, '--json']);
      expect(run.code).toBe(3);
      expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'apply', outcome: 'blocked', summary: { conflicts: 1 } });
      expect(run.stderr).toContain('Blocked, nothing written');
      expect(sha(db.url)).toBe(before);
    } finally {
      await db.drop();
    }
  });

  it('folds the bundled sample: dry run, apply, status, then a no-op re-run', async () => {
    const file = sampleCopy('sample.db');
    const dry = await runBin(['--db', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/to fold\s+22/);
    expect((await runBin(['status', '--db', file])).code).toBe(3);
    const apply = await runBin(['--db', file]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/Done: 22 row\(s\) folded into 7 workflow row\(s\)/);
    expect((await runBin(['status', '--db', file])).code).toBe(0);
    const again = await runBin(['--db', file, '--json']);
    expect(JSON.parse(again.stdout).summary).toMatchObject({ folded: 0, unchanged: 22 });
  });

  it('the bundled sample.db holds exactly the sample dataset on the fixture schema', async () => {
    const built = await createTestDatabase('sqlite');
    const bundled = await createTestDatabase('sqlite');
    try {
      await loadSchema(built);
      await loadDataset(built, 'sample');
      copyFileSync(SAMPLE, bundled.url);
      expect(await dumpDatabase(bundled)).toBe(await dumpDatabase(built));
    } finally {
      await built.drop();
      await bundled.drop();
    }
  });

  it('a report that cannot be written does not change the outcome, and shows no stack trace', async () => {
    const file = sampleCopy('report.db');
    const run = await runBin(['--db', file, '--report', '/proc/stepcfg-report.json', '--quiet']);
    expect(run.code).toBe(0);
    expectOneLineError(run, /outcome stands, but its report could not be written/);
    expect((await runBin(['status', '--db', file])).code).toBe(0); // the apply did happen
  });

  it('runs through npx from the project', () => {
    const run = spawnSync('npx', ['--no-install', 'stepcfg-migrate', '--version'], {
      encoding: 'utf8',
      cwd: new URL('../..', import.meta.url).pathname,
    });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

/**
 * Runs the bin under a pseudo-terminal (util-linux `script`), as an operator would see it; `input`
 * is a file its standard input reads instead of the terminal.
 */
function onTty(args: string[], env: Record<string, string> = {}, { input = '', status = 0 } = {}): string {
  const out = join(dir(), `tty-${Math.random().toString(16).slice(2)}.txt`);
  const words = ['stty cols 120 rows 40;', process.execPath, BIN, ...args.map((a) => `'${a}'`)];
  const command = [...words, ...(input ? ['<', `'${input}'`] : [])].join(' ');
  const { CI: _ci, ...outsideCi } = process.env; // ora stays still in CI, as it should
  const run = spawnSync('script', ['-qec', command, out], {
    env: { ...outsideCi, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(status);
  return readFileSync(out, 'utf8');
}

describe.skipIf(spawnSync('script', ['--version']).status !== 0)('on a terminal', () => {
  // A foreground colour, ESC [ 3x m. The escape character is a control character, which a regular
  // expression literal may not hold (no-control-regex): it is built from its code.
  const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[3\\dm`);

  it('draws progress and colours on a TTY', () => {
    const screen = onTty(['--db', sampleCopy('tty.db'), '--dry-run'], { FORCE_COLOR: '1' });
    expect(screen).toContain('Dry run');
    expect(screen).toMatch(COLOUR);
    expect(screen).toContain('\u001b[?25l'); // the spinner hides the cursor while it runs
  });

  it('refuses a rollback without --yes when its input is not the terminal, and ends there', () => {
    const screen = onTty(['rollback', '--db', sampleCopy('tty4.db')], {}, { input: '/dev/null', status: 3 });
    expect(screen).toContain('rollback needs --yes when there is no terminal to answer its question');
    expect(screen).not.toContain('connecting'); // the progress line never started
  });

  it('drops colours for NO_COLOR and --no-color', () => {
    expect(onTty(['--db', sampleCopy('tty2.db'), '--dry-run'], { NO_COLOR: '1' })).not.toMatch(COLOUR);
    expect(onTty(['--db', sampleCopy('tty3.db'), '--dry-run', '--no-color'])).not.toMatch(COLOUR);
  });
});
