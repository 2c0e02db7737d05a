import { spawnSync } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type { TestDatabase } from './databases.js';

export interface ShellRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a SQL script with the database's own shell, as a DBA would: `sqlite3 -bail`, `psql -v
 * ON_ERROR_STOP=1`, `mariadb` (which stops at the first error). The script is read from stdin.
 */
export function runWithShell(db: TestDatabase, script: string): ShellRun {
  const [command, args] = shellCommand(db);
  const input = openSync(script, 'r');
  try {
    const run = spawnSync(command, args, {
      stdio: [input, 'pipe', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    if (run.error) throw run.error;
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    closeSync(input);
  }
}

function shellCommand(db: TestDatabase): [string, string[]] {
  if (db.dialect === 'sqlite') return ['sqlite3', ['-bail', db.url]];
  if (db.dialect === 'postgres') return ['psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db.url]];
  const u = new URL(db.url);
  const password = decodeURIComponent(u.password);
  return [
    'mariadb',
    [
      '--protocol=tcp',
      '-h',
      u.hostname,
      '-P',
      u.port || '3306',
      '-u',
      decodeURIComponent(u.username),
      ...(password ? [`-p${password}`] : []),
      '--max-allowed-packet=1G',
      decodeURIComponent(u.pathname.slice(1)),
    ],
  ];
}
