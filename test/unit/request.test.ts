import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram, type CliOptions } from '../../src/cli/program.js';
import { splitCommand } from '../../src/cli/argv.js';
import { toRequest } from '../../src/cli/request.js';
import { ToolError } from '../../src/errors.js';

/** Parses a command line as the CLI does and turns it into a request (or the usage error's text). */
function request(argv: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const split = splitCommand(argv);
    const program = buildProgram(split.verb);
    program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    program.parse(split.rest, { from: 'user' });
    const given = (key: string) => ['cli', 'env'].includes(program.getOptionValueSource(key) ?? '');
    return toRequest(split.verb, program.opts<CliOptions>(), given, env, '0.0.0');
  } catch (e) {
    if (e instanceof ToolError) return { usage: e.message, exitCode: e.exitCode };
    throw e;
  }
}

describe('the command line as a request', () => {
  it('picks the mode from the command and flags', () => {
    expect(request(['--db', 'x.db'])).toMatchObject({ mode: 'apply', dryRun: false });
    expect(request(['--db', 'x.db', '--dry-run'])).toMatchObject({ mode: 'dry-run', dryRun: true });
    expect(request(['status', '--db', 'x.db'])).toMatchObject({ mode: 'status' });
    expect(request(['--db', 'x.db', '--rollback', '--dry-run'])).toMatchObject({ mode: 'rollback', dryRun: true });
    expect(request(['cleanup', '--db', 'x.db'])).toMatchObject({ mode: 'cleanup' });
    expect(request(['plan', '--db', 'x.db'])).toMatchObject({ mode: 'dry-run', dryRun: true });
    expect(request(['--db', 'x.db', 'apply'])).toMatchObject({ mode: 'apply', dryRun: false });
    expect(request(['rollback', '--db', 'x.db', '-n'])).toMatchObject({ mode: 'rollback', dryRun: true });
    expect(request(['runs', '--db', 'x.db'])).toMatchObject({ mode: 'runs' });
  });

  it('finds the database in STEPCFG_DB_URL, then CTRL_DB_PATH, when --db is absent', () => {
    const env = { STEPCFG_DB_URL: 'sqlite:///a.db', CTRL_DB_PATH: 'b.db' };
    expect(request([], env)).toMatchObject({ target: { dialect: 'sqlite', file: 'a.db', source: 'STEPCFG_DB_URL' } });
    expect(request([], { CTRL_DB_PATH: 'b.db' })).toMatchObject({ target: { file: 'b.db', source: 'CTRL_DB_PATH' } });
    expect(request(['--db', 'c.db'], env)).toMatchObject({ target: { file: 'c.db', source: '--db' } });
    // A URL it refuses says where it came from.
    expect(request([], { CTRL_DB_PATH: 'oracle://u:Pw9@h/x' })).toMatchObject({
      usage: expect.stringMatching(
        /^unsupported database URL scheme "oracle:\/\/" in oracle:\/\/u:\*\*\*@h\/x: .* \(from CTRL_DB_PATH\)$/,
      ),
    });
  });

  it('reports every problem at once, as a usage error (exit 2)', () => {
    const refused = request(['--rollback', '--on-conflict', 'keep', '--quiet', '--verbose', '--step-table', 'a-b']);
    expect(refused).toMatchObject({ exitCode: 2 });
    const message = (refused as { usage: string }).usage;
    expect(message.split('; ')).toEqual([
      '--on-conflict belong to the fold, not to --rollback',
      '--quiet and --verbose contradict each other: choose one',
      '--step-table must be a plain SQL name (letters, digits, _), not "a-b"',
      'no database given: pass --db URL, or set STEPCFG_DB_URL, CTRL_DB_PATH, CTRL_ENV_PATH (a .env file with ' +
        'CTRL_DB_PATH), CTRL_CONFIG_PATH (the controller config with db.db_url) or CTRL_DATA_PATH',
    ]);
  });

  it('never echoes a command that looks like a URL with a password', () => {
    const refused = request(['postgresql://u:Secret9@h/db', '--db', 'x.db']) as { usage: string };
    expect(refused.usage).toContain('unknown command (a URL? the database goes with --db)');
    expect(refused.usage).not.toContain('Secret9');
  });

  it('refuses flags the database cannot honour, and output files that exist or cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepcfg-request-'));
    const refused = request(['--db', 'x.db', '--schema', 'other', '--orphans-out', dir, '--lock-timeout', '0']);
    expect((refused as { usage: string }).usage).toBe(
      `--orphans-out ${dir} is a directory; ` +
        '--schema applies to PostgreSQL and MySQL; a SQLite file has only "main"; ' +
        '--lock-timeout takes a positive number, not "0"',
    );
    for (const [value, max] of [
      ['1e9', true],
      ['86401', true],
      ['86400', false],
      ['Infinity', false],
    ] as const) {
      const usage = (request(['--db', 'x.db', '--lock-timeout', value]) as { usage?: string }).usage;
      if (max) expect(usage).toBe(`--lock-timeout takes at most 86400 seconds (a day), not "${value}"`);
      else if (value === 'Infinity') expect(usage).toBe('--lock-timeout takes a positive number, not "Infinity"');
      else expect(usage).toBeUndefined();
    }
    const server = request(['--db', 'postgresql://u@h/db', '--backup-file', join(dir, 'b.db')]) as { usage: string };
    expect(server.usage).toBe('--backup-file works with SQLite only');
    rmSync(dir, { recursive: true });
  });

  it('--out goes with a dry run, --plan without one; --plan records which policy flags were given', () => {
    expect(request(['plan', '--db', 'x.db', '--out', 'p.plan'])).toMatchObject({
      planOut: join(process.cwd(), 'p.plan'),
    });
    expect(request(['rollback', '--db', 'x.db', '--dry-run', '--out', 'p.plan'])).toMatchObject({ mode: 'rollback' });
    expect(request(['apply', '--db', 'x.db', '--out', 'p.plan'])).toMatchObject({
      exitCode: 2,
      usage: '--out writes a plan: it goes with plan, --dry-run or rollback --dry-run',
    });
    // Commands that take no plan refuse the flag itself (a usage error in the CLI).
    expect(() => request(['plan', '--db', 'x.db', '--plan', 'p.plan'])).toThrow(/unknown option '--plan'/);
    expect(request(['apply', '--db', 'x.db', '--plan', 'p.plan', '--dry-run'])).toMatchObject({
      usage: '--plan carries out a reviewed plan: drop --dry-run',
    });
    expect(() => request(['status', '--db', 'x.db', '--plan', 'p.plan'])).toThrow(/unknown option '--plan'/);
    expect(request(['apply', '--db', 'x.db', '--plan', 'p.plan', '--strict', '--on-conflict', 'keep'])).toMatchObject({
      fromPlan: { path: join(process.cwd(), 'p.plan'), given: ['onConflict', 'strict'] },
    });
    expect(request(['rollback', '--db', 'x.db', '--plan', 'p.plan', '--force'])).toMatchObject({
      fromPlan: { given: ['force'] },
    });
  });

  it('takes --sql-out with a plan only, never with --drop-table or --out, and never over an existing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepcfg-request-'));
    const file = join(dir, 'fold.sql');
    expect(request(['plan', '--db', 'x.db', '--sql-out', file])).toMatchObject({ mode: 'dry-run', sqlOut: file });
    expect(request(['--db', 'x.db', '--dry-run', '--sql-out', file])).toMatchObject({ sqlOut: file });
    const usage = (argv: string[]) => (request(argv) as { usage?: string }).usage;
    expect(usage(['apply', '--db', 'x.db', '--sql-out', file])).toBe(
      '--sql-out goes with plan (or --dry-run): it writes the plan as a script',
    );
    expect(usage(['plan', '--db', 'x.db', '--drop-table', '--sql-out', file])).toMatch(/^--sql-out cannot drop tables/);
    expect(usage(['plan', '--db', 'x.db', '--sql-out', dir])).toBe(`--sql-out ${dir} is a directory`);
    expect(usage(['plan', '--db', 'x.db', '--out', join(dir, 'p.plan'), '--sql-out', file])).toBe(
      '--out and --sql-out: write one of them per plan',
    );
    rmSync(dir, { recursive: true });
  });
});
