import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createKnex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runBin, type CliResult } from '../support/cli.js';
import { knexConfig, requireOrSkip, serverUrl } from '../support/databases.js';
import { tempDir } from '../support/temp-dir.js';

/**
 * One distinctive password, driven through every error the tool can print. Its characters need
 * URL encoding, so both the plain and the encoded form are looked for, and so is its random core
 * alone (a password cut short is still a leak).
 */
const core = randomBytes(6).toString('hex');
const SECRET = `Pw-${core}@x/y`;
const ENCODED = encodeURIComponent(SECRET);
const WRONG = `Wrong-${core}`;

const dir = tempDir('stepcfg-secrets-');
const account = `stepcfg_s_${process.pid}_${core.slice(0, 6)}`;
const socketAccount = `${account}_sock`;

interface Case {
  name: string;
  server?: 'postgres' | 'mysql';
  args: string[];
  env?: NodeJS.ProcessEnv;
  code: number;
  message: RegExp;
}

const pg = (user: string, password: string, port = 5432, database = 'test', scheme = 'postgresql') =>
  `${scheme}://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
const my = (user: string, password: string, port = 3306, database = 'test', scheme = 'mysql') =>
  `${scheme}://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

const CASES: Case[] = [
  {
    name: 'bad scheme',
    args: ['--db', pg('u', SECRET, 5432, 'x', 'oracle+cx_oracle')],
    code: 2,
    message: /^unsupported database URL scheme "oracle\+cx_oracle:\/\/" in oracle\+cx_oracle:\/\/u:\*\*\*@/,
  },
  {
    name: 'bad driver',
    args: ['--db', my('u', SECRET, 3306, 'x', 'mysql+nodriver')],
    code: 2,
    message: /unsupported database URL scheme "mysql\+nodriver:\/\/".*the driver "nodriver"/,
  },
  {
    name: 'a password that does not parse',
    args: ['--db', `postgresql://u:Pw/${SECRET}@127.0.0.1:5432/x`],
    code: 2,
    message: /^cannot parse the database URL "postgresql:\/\/u:\*\*\*@127\.0\.0\.1:5432\/x"$/,
  },
  {
    name: 'refused port, PostgreSQL',
    server: 'postgres',
    args: ['--db', pg('postgres', SECRET, 1)],
    code: 1,
    message: /cannot connect to PostgreSQL at 127\.0\.0\.1:1: connection refused/,
  },
  {
    name: 'refused port, MySQL',
    server: 'mysql',
    args: ['--db', my('root', SECRET, 1, 'test', 'mysql+pymysql')],
    code: 1,
    message: /cannot connect to MySQL\/MariaDB at 127\.0\.0\.1:1: connection refused/,
  },
  {
    name: 'refused port, password in PGPASSWORD and MYSQL_PWD',
    server: 'postgres',
    args: ['--db', 'postgresql://postgres@127.0.0.1:1/x'],
    env: { PGPASSWORD: SECRET, MYSQL_PWD: SECRET },
    code: 1,
    message: /connection refused/,
  },
  {
    name: 'PostgreSQL URL at the MariaDB port',
    server: 'mysql',
    args: ['--db', pg('postgres', SECRET, 3306, 'test', 'postgresql+psycopg_async')],
    code: 1,
    message:
      /the server did not answer as PostgreSQL \(check the host and port: is it a MySQL\/MariaDB port such as 3306\?\)/,
  },
  {
    name: 'MySQL URL at the PostgreSQL port',
    server: 'postgres',
    args: ['--db', my('root', SECRET, 5432, 'test', 'mysql+aiomysql'), '--lock-timeout', '1'],
    code: 1,
    message:
      /the server did not answer as MySQL\/MariaDB within --lock-timeout \(check the host and port: is it a PostgreSQL port such as 5432/,
  },
  {
    name: 'unknown database, PostgreSQL',
    server: 'postgres',
    args: ['--db', pg('postgres', SECRET, 5432, 'stepcfg_no_such_db', 'postgresql+psycopg_async')],
    code: 1,
    message: /database "stepcfg_no_such_db" does not exist/,
  },
  {
    name: 'unknown database, MySQL',
    server: 'mysql',
    args: ['--db', my('root', '', 3306, 'stepcfg_no_such_db'), '--lock-timeout', '2'],
    env: { MYSQL_PWD: SECRET },
    code: 1,
    message: /Unknown database 'stepcfg_no_such_db'/,
  },
  // Trust authentication here: an unknown role is the refused login the server can give.
  {
    name: 'refused login, PostgreSQL',
    server: 'postgres',
    args: ['--db', pg('stepcfg_no_such_role', SECRET)],
    code: 1,
    message: /PostgreSQL refused the login: role "stepcfg_no_such_role" does not exist/,
  },
  {
    name: 'wrong password, MariaDB',
    server: 'mysql',
    args: ['--db', my(account, SECRET)],
    code: 1,
    message: new RegExp(
      `^MySQL/MariaDB refused the login: access denied for user '${account}'@'[^']+'; check the user and password \\[`,
    ),
  },
  {
    name: 'wrong password, MariaDB account that signs in by socket',
    server: 'mysql',
    args: ['--db', my(socketAccount, SECRET)],
    code: 1,
    message: new RegExp(
      `refused the login: access denied for user '${socketAccount}'@'[^']+'; check the user and password`,
    ),
  },
  {
    name: 'missing SQLite file',
    args: ['--db', 'sqlite+aiosqlite:///stepcfg-no-such.db'],
    env: { PGPASSWORD: SECRET, MYSQL_PWD: SECRET },
    code: 1,
    message: /database file not found: stepcfg-no-such\.db/,
  },
  {
    name: 'usage: --lock-timeout too long',
    args: ['--db', pg('postgres', SECRET), '--lock-timeout', '1e9'],
    code: 2,
    message: /^--lock-timeout takes at most 86400 seconds \(a day\), not "1e9"$/,
  },
  {
    name: 'usage: contradicting flags',
    args: ['--db', my('root', SECRET), '--quiet', '--verbose', '--schema', 'a-b'],
    code: 2,
    message: /--quiet and --verbose/,
  },
  {
    name: 'usage: the URL given as the command',
    args: [pg('postgres', SECRET)],
    code: 2,
    message: /unknown command \(a URL\? the database goes with --db\)/,
  },
  {
    name: 'usage: an unknown flag',
    args: ['--db', pg('postgres', SECRET), '--nope'],
    code: 2,
    message: /unknown option '--nope'/,
  },
  {
    name: 'usage: bad URL from CTRL_DB_PATH',
    args: [],
    env: { CTRL_DB_PATH: my('root', SECRET, 3306, 'x', 'mysql+mysql_x') },
    code: 2,
    message: /\(from CTRL_DB_PATH\)$/,
  },
];

/** Every file under a directory, as text. */
function filesUnder(path: string): { file: string; text: string }[] {
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ file: join(e.parentPath, e.name), text: readFileSync(join(e.parentPath, e.name), 'utf8') }));
}

function expectNoSecret(where: string, text: string): void {
  for (const form of [SECRET, ENCODED, core, WRONG]) {
    expect(text.includes(form), `${where} shows the password (${form === core ? 'its core' : form})`).toBe(false);
  }
}

async function withServerAccounts(): Promise<() => Promise<void>> {
  if (!(await requireOrSkip('mysql'))) return async () => {};
  const k: Knex = createKnex(knexConfig('mysql', serverUrl('mysql')));
  await k.raw(`CREATE USER ?@'%' IDENTIFIED BY ?`, [account, `Right-${randomBytes(6).toString('hex')}`]);
  await k.raw(`CREATE USER ?@'%' IDENTIFIED VIA unix_socket`, [socketAccount]);
  return async () => {
    await k.raw(`DROP USER IF EXISTS ?@'%', ?@'%'`, [account, socketAccount]);
    await k.destroy();
  };
}

describe('no password in any output', () => {
  let dropAccounts = async () => {};
  const reachable: Record<string, boolean> = {};
  beforeAll(async () => {
    reachable.postgres = await requireOrSkip('postgres');
    reachable.mysql = await requireOrSkip('mysql');
    dropAccounts = await withServerAccounts();
  });
  afterAll(() => dropAccounts());

  it.for(CASES)('$name: the documented exit code, one line, no password anywhere', async (c, ctx) => {
    if (c.server && !reachable[c.server]) ctx.skip();
    const runDir = join(dir(), c.name.replace(/\W+/g, '-'));
    mkdirSync(runDir, { recursive: true });
    const env = { ...c.env, STEPCFG_SQL_LOG: join(runDir, 'sql.log') };
    const plain = await runBin(c.args, env);
    expect(plain.code).toBe(c.code);
    const lines = plain.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.replace(/^stepcfg-migrate: error: /, '')).toMatch(c.message);
    expect(plain.stdout).toBe('');
    // The same with the JSON error on stdout and in --report, and with the debugging stack trace.
    const report = join(runDir, 'report.json');
    const json: CliResult = await cli([...c.args, '--json', '--report', report], { ...env, STEPCFG_DEBUG: '1' });
    expect(json.code).toBe(c.code);
    if (!c.name.includes('unknown flag')) {
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { exitCode: c.code } });
      expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ error: { exitCode: c.code } });
    }
    for (const [where, text] of [
      ['stdout', plain.stdout + json.stdout],
      ['stderr', plain.stderr + json.stderr],
    ] as const) {
      expectNoSecret(where, text);
    }
    for (const { file, text } of filesUnder(runDir)) expectNoSecret(file, text);
    rmSync(runDir, { recursive: true });
  });

  it('a password in the .env file or the controller config: no output shows it', async () => {
    const envFile = join(dir(), 'ctrl.env');
    const config = join(dir(), 'ctrl.yaml');
    writeFileSync(envFile, `CTRL_DB_PATH="${my('root', SECRET, 1, 'x', 'mysql+asyncmy')}"\n`);
    writeFileSync(config, `db:\n  db_url: '${pg('u', SECRET, 1, 'x', 'postgresql+nodriver')}'\n`);
    const fromEnvFile = await runBin(['--json'], { CTRL_ENV_PATH: envFile });
    expect(fromEnvFile.code).toBe(1);
    expect(fromEnvFile.stderr).toMatch(/connection refused .*\(from \.env .*ctrl\.env\)$/m);
    const fromConfig = await runBin(['--json'], { CTRL_CONFIG_PATH: config });
    expect(fromConfig.code).toBe(2);
    expect(fromConfig.stderr).toMatch(/unsupported database URL scheme .*\(from config .*ctrl\.yaml\)$/m);
    for (const run of [fromEnvFile, fromConfig]) expectNoSecret('output', run.stdout + run.stderr);
  });
});
