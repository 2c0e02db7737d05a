import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { withDataset, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-sources-');

/** The SQLAlchemy URL forms of a test database, with the drivers the controller may be set up with. */
function driverForms(db: TestDatabase): string[] {
  if (db.dialect === 'sqlite') return [`sqlite+pysqlite:///${db.url}`, `sqlite+aiosqlite:///${db.url}`];
  const rest = db.url.replace(/^[a-z0-9+]+:\/\//, '');
  const schemes =
    db.dialect === 'postgres'
      ? ['postgresql+asyncpg', 'postgresql+psycopg', 'postgresql+psycopg_async', 'postgresql+pg8000']
      : ['mysql+aiomysql', 'mysql+asyncmy', 'mysql+mysqldb', 'mariadb+mariadbconnector', 'mariadb+pymysql'];
  return schemes.map((s) => `${s}://${rest}`);
}

/** A dry run with the database found in `env`: where the report and the header say it came from. */
async function dryRun(env: NodeJS.ProcessEnv): Promise<{ code: number; source: string; header: string }> {
  const json = await cli(['--dry-run', '--json', '--quiet'], env);
  const human = await cli(['--dry-run', '--no-color'], env);
  expect(json.stderr).toBe('');
  expect(json.json().summary.folded).toBe(22);
  return { code: json.code, source: json.json().database.source, header: human.stdout.split('\n')[0]! };
}

describeEachDialect('where the database URL comes from', (dialect, need) => {
  it("accepts every SQLAlchemy driver of the database's backend", async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      for (const url of driverForms(db)) {
        const run = await cli(['--db', url, '--dry-run', '--json', '--quiet']);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(run.json().database).toMatchObject({ dialect, source: '--db' });
        expect(run.json().summary.folded).toBe(22);
      }
    });
  });

  it('finds it in each source the controller reads, says which in the report and the header, in their order', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const base = join(dir(), dialect);
      mkdirSync(base, { recursive: true });
      const envFile = join(base, 'ctrl.env');
      const config = join(base, 'ctrl.yaml');
      const elsewhere = join(base, 'nowhere', 'sql.db'); // what a source lower in the order names
      writeFileSync(envFile, `# the controller\nexport CTRL_DB_PATH='${db.url}'\n`);
      writeFileSync(config, `log_level: INFO\ndb:\n  verbose: true\n  db_url: "${db.url}"  # the one\n`);

      const withDb = await cli(['--db', db.url, '--dry-run', '--no-color'], { CTRL_DB_PATH: elsewhere });
      expect(withDb.stdout.split('\n')[0]).not.toContain('(from');

      const cases: [NodeJS.ProcessEnv, string][] = [
        [
          { STEPCFG_DB_URL: db.url, CTRL_CONFIG_PATH: join(base, 'missing.yaml'), CTRL_DB_PATH: elsewhere },
          'STEPCFG_DB_URL',
        ],
        [{ CTRL_DB_PATH: db.url, CTRL_ENV_PATH: join(base, 'missing.env') }, 'CTRL_DB_PATH'],
        [{ CTRL_ENV_PATH: envFile, CTRL_DATA_PATH: join(base, 'nowhere') }, `.env ${envFile}`],
        // The controller's YAML db section replaces its default, CTRL_DB_PATH included.
        [{ CTRL_CONFIG_PATH: config, CTRL_DB_PATH: elsewhere, CTRL_ENV_PATH: envFile }, `config ${config}`],
      ];
      for (const [env, source] of cases) {
        const run = await dryRun(env);
        expect(run.code).toBe(0);
        expect(run.source).toBe(source);
        expect(run.header).toMatch(new RegExp(`^Dry run \\(nothing written\\) — ${dialect} .* \\(from ${source}\\)$`));
      }
      // The environment wins over the .env file.
      writeFileSync(envFile, `CTRL_DB_PATH=${elsewhere}\n`);
      expect((await dryRun({ CTRL_ENV_PATH: envFile, CTRL_DB_PATH: db.url })).source).toBe('CTRL_DB_PATH');
    });
  });

  if (dialect === 'sqlite') {
    it("falls back to the controller's default, <CTRL_DATA_PATH>/sql.db, from the environment or the .env file", async () => {
      await withDataset(dialect, 'sample', async (db) => {
        const data = join(dir(), 'data');
        mkdirSync(data, { recursive: true });
        copyFileSync(db.url, join(data, 'sql.db'));
        const run = await dryRun({ CTRL_DATA_PATH: data });
        expect(run.source).toBe('CTRL_DATA_PATH');
        expect(run.header).toContain(`sqlite:///${data}/sql.db (from CTRL_DATA_PATH)`);
        const envFile = join(dir(), 'data.env');
        writeFileSync(envFile, `CTRL_DATA_PATH="${data}"\n`);
        expect((await dryRun({ CTRL_ENV_PATH: envFile })).source).toBe(`.env ${envFile}`);
        // An error with a URL the operator did not type says where it came from.
        const missing = await cli(['--dry-run'], { CTRL_DATA_PATH: join(dir(), 'empty') });
        expect(missing.code).toBe(1);
        expect(missing.stderr).toMatch(
          /^stepcfg-migrate: error: database file not found: .*\/empty\/sql\.db .*\(from CTRL_DATA_PATH\)\n$/,
        );
      });
    });
  }
});
