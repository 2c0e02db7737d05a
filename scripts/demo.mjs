// Runs the tool for real on a copy of the bundled sample genai-factory database:
// a dry run, then the apply, then status. The copy is demo/sample.db (recreated each time).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const db = `${root}demo/sample.db`;
mkdirSync(`${root}demo`, { recursive: true });
rmSync(db, { force: true });
copyFileSync(`${root}fixtures/sample.db`, db);

const steps = [['--dry-run', '--verbose'], [], ['status']];
for (const args of steps) {
  const shown = ['stepcfg-migrate', ...args, '--db', 'demo/sample.db'].join(' ');
  process.stdout.write(`\n$ ${shown}\n`);
  const run = spawnSync(process.execPath, [`${root}bin/stepcfg-migrate`, ...args, '--db', db], {
    stdio: 'inherit',
    cwd: root,
  });
  process.stdout.write(`(exit ${run.status})\n`);
  if (run.status !== 0) process.exit(run.status ?? 1);
}
