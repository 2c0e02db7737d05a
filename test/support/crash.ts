import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';
import { createTestDatabase, requireOrSkip, type Dialect } from './databases.js';
import { generateDatabase } from './generate.js';
import { sleep, startBin, stateDigest } from './processes.js';

let orphanFiles = 0;
// Made when first needed: a run filtered by -t, whose tests all skip, leaves no directory behind.
let orphansDir: string | undefined;
afterAll(() => {
  if (orphansDir) rmSync(orphansDir, { recursive: true, force: true });
});
/** A fresh --orphans-out path for each run that asks for one (in a directory removed afterwards). */
function withOrphansFile(args: string[]): string[] {
  return args.map((a, i) => {
    if (args[i - 1] !== '--orphans-out') return a;
    orphansDir ??= mkdtempSync(path.join(os.tmpdir(), 'stepcfg-crash-'));
    return path.join(orphansDir, `orphans-${orphanFiles++}.json`);
  });
}

/**
 * kill -9 at random moments of apply, apply --drop-table and rollback over a 100k-row database:
 * afterwards the database is exactly as before or after the phase (on MySQL/MariaDB also at the
 * documented point between its two steps), and running the command again completes it. One file
 * per database, so that the databases' suites run side by side.
 */
export function crashSuite(dialect: Dialect, kills = 21): void {
  describe(`kill -9 on ${dialect}`, () => {
    it(`at ${kills} random moments of apply, drop and rollback: always before or after, and a re-run completes it`, async (ctx) => {
      if (!(await requireOrSkip(dialect))) ctx.skip();
      const db = await createTestDatabase(dialect);
      try {
        await generateDatabase(db, 100_000);
        const initial = await stateDigest(db);
        // Calibrate: each phase run whole, for its duration and the state it leaves.
        const phases: { args: string[]; before: string; after: string; ms: number; between?: string }[] = [];
        for (const args of [
          [],
          ['--rollback', '--yes'],
          ['--drop-table', '--yes', '--orphans-out', ''],
          ['--rollback', '--yes'],
        ]) {
          const before = phases.at(-1)?.after ?? initial;
          const started = Date.now();
          const run = await cli(['--db', db.url, '--quiet', ...withOrphansFile(args)]);
          expect(run.code, run.stderr).toBe(0);
          phases.push({ args, before, after: await stateDigest(db), ms: Date.now() - started });
        }
        expect(phases[1]!.after).toBe(initial);
        expect(phases[3]!.after).toBe(initial);
        // On MySQL/MariaDB a drop follows the fold's commit, and a rollback brings the tables back
        // before the specs: in both, the folded state with the tables in place lies between.
        if (dialect === 'mysql') phases[2]!.between = phases[3]!.between = phases[0]!.after;

        const seen: Record<string, number> = { before: 0, after: 0, between: 0 };
        let kill = 0;
        for (let p = 0; kill < kills; p = (p + 1) % phases.length) {
          const phase = phases[p]!;
          const label =
            phase.args.filter((a) => a.startsWith('--') && a !== '--yes' && a !== '--orphans-out').join(' ') || 'apply';
          // Two kills per phase (the second only if the first left it undone), then a re-run completes it.
          let state = phase.before;
          for (let attempt = 0; attempt < 2 && state !== phase.after && kill < kills; attempt++, kill++) {
            const run = startBin(['--db', db.url, '--quiet', ...withOrphansFile(phase.args)]);
            await sleep(Math.random() * phase.ms * 1.1);
            run.child.kill('SIGKILL');
            await run.done;
            state = await stateDigest(db);
            const where =
              state === phase.before
                ? 'before'
                : state === phase.after
                  ? 'after'
                  : state === phase.between
                    ? 'between'
                    : 'half';
            expect(where, `kill ${kill} during ${label}`).not.toBe('half');
            seen[where]!++;
          }
          const rerun = await cli(['--db', db.url, '--quiet', '--lock-timeout', '5', ...withOrphansFile(phase.args)]);
          expect(rerun.code, rerun.stderr).toBe(0);
          expect(await stateDigest(db), `${label} completed by a re-run`).toBe(phase.after);
        }
        expect(seen.before! + seen.after! + seen.between!).toBe(kills);
      } finally {
        await db.drop();
      }
    }, 600_000);
  });
}
