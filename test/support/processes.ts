import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { BIN } from './cli.js';
import { listTables, readWorkflowSpecs, type TestDatabase } from './databases.js';

/** A running bin: its process, and a promise of how it ended. */
export interface Running {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Resolves once the child has printed this on stderr or stdout (for timing a signal). */
  printed(pattern: RegExp): Promise<void>;
}

/** Starts the real command in a child process. */
export function startBin(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(stdout) || w.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (c: Buffer) => ((stdout += c.toString()), check()));
  child.stderr!.on('data', (c: Buffer) => ((stderr += c.toString()), check()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    done,
    printed: (pattern) =>
      new Promise((resolve) => {
        waiters.push({ pattern, resolve });
        check();
      }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What a migration phase changes in the controller's tables, as one digest: every workflow spec,
 * which tables exist, and how many rows each holds (the tool never edits a step row: it folds,
 * renames, restores). The tool's own tables are left out: their records are checked by re-running.
 */
export async function stateDigest(db: TestDatabase): Promise<string> {
  const k = db.knex();
  const hash = createHash('sha256');
  for (const s of await readWorkflowSpecs(db)) hash.update(JSON.stringify([s.uid, s.version, s.spec]));
  for (const t of (await listTables(db)).filter((t) => !t.startsWith('stepcfg_migrate_'))) {
    const [row] = await k(t).count({ n: '*' });
    hash.update(`${t}:${Number(row?.n)}`);
  }
  return hash.digest('hex');
}
