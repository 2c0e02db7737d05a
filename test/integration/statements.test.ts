import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runBin } from '../support/cli.js';
import { createTestDatabase, readWorkflowSpecs } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { generateDatabase } from '../support/generate.js';
import { tempDir } from '../support/temp-dir.js';

const logs = tempDir('stepcfg-sql-');

/** Workflows per batch: 100 workflows hold about 1,000 step rows in the generated data. */
const BATCH = 100;
/** Statements a batch may send: its workflow rows, its step rows, the staged specs, one spare. */
const PER_BATCH = 4;

/** Applies to a generated database of `steps` rows and returns every statement the tool sent. */
async function statementsOfApply(dialect: Parameters<typeof createTestDatabase>[0], steps: number) {
  const db = await createTestDatabase(dialect);
  try {
    await generateDatabase(db, steps);
    const log = path.join(logs(), `${dialect}-${steps}.log`);
    const run = await runBin(['--db', db.url, '--json', '--quiet', '--batch-size', String(BATCH)], {
      STEPCFG_SQL_LOG: log,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { summary } = run.json();
    // Every row with a workflow is folded: 1% of the generated rows are orphans.
    expect(summary.stepRows).toBe(steps);
    expect(summary.folded).toBe(steps - steps / 100);
    const specs = await readWorkflowSpecs(db);
    expect(specs.filter((s) => s.spec?.includes('step_configurations')).length).toBe(summary.workflowsUpdated);
    // Each line: seconds since start, a tab, the statement.
    return readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.replace(/^\d+\.\d{3}\t/, ''));
  } finally {
    await db.drop();
  }
}

describeEachDialect('statements sent by an apply', (dialect, need) => {
  it('grow with the batches, not with the rows: no statement per row', async (ctx) => {
    need(ctx);
    const small = await statementsOfApply(dialect, 10_000);
    const large = await statementsOfApply(dialect, 20_000);
    const batches = (steps: number) => Math.ceil(steps / 10 / BATCH);
    // 10,000 more rows are 10 more batches: at most PER_BATCH statements each.
    expect(large.length - small.length).toBeLessThanOrEqual(PER_BATCH * (batches(20_000) - batches(10_000)));
    // Far fewer statements than rows, and the writes are set-based: one UPDATE of the workflow table.
    expect(small.length).toBeLessThan(10_000 / 50);
    expect(
      large.filter((s) => /^UPDATE\b/i.test(s) && /workflow/.test(s) && /stepcfg_migrate_stage/.test(s)),
    ).toHaveLength(1);
    expect(large.filter((s) => /^UPDATE\b/i.test(s) && !/stepcfg_migrate_runs/.test(s))).toHaveLength(1);
  }, 120_000);
});
