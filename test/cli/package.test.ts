import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = tempDir('stepcfg-package-');

it(
  'the published package installs into an empty directory and runs on its bundled sample database',
  { timeout: 240_000 },
  () => {
    const work = dir();
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: 'pipe' });
    // Without its scripts: `prepare` would build dist/ again, under the other tests running the CLI from it.
    const tarball = npm(['pack', ROOT, '--pack-destination', work, '--silent', '--ignore-scripts'], work)
      .trim()
      .split('\n')
      .at(-1)!;
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    // Install scripts are skipped: better-sqlite3 would compile from source for a minute and a half.
    // Its compiled module is the checkout's, of the same locked version.
    npm(['install', join(work, tarball), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
    cpSync(join(ROOT, 'node_modules/better-sqlite3/build'), join(app, 'node_modules/better-sqlite3/build'), {
      recursive: true,
    });

    const bin = join(app, 'node_modules/.bin/stepcfg-migrate');
    const run = (args: string[]) => spawnSync(bin, args, { cwd: app, encoding: 'utf8' });
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^ {2}plan {6}show what an apply would do/m);
    const sample = join(app, 'node_modules/stepcfg-migrate/fixtures/sample.db');
    const plan = run(['plan', '--db', sample, '--json']);
    expect(plan.status).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ mode: 'dry-run', outcome: 'planned', summary: { folded: 22 } });
  },
);
