import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { createTestDatabase, knexConfig, requireOrSkip, type TestDatabase } from '../support/databases.js';
import { generateDatabase } from '../support/generate.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-plans-');

const STEPS = 10_000;
/** Workflows per batch: 50 workflows hold about 500 step rows in the generated data, 20 batches in all. */
const BATCH = 50;
const TABLES = ['step_configuration', 'step_configuration_labels', 'workflow'];
/** The rows of each table in the generated data: 10 step rows per workflow, 10% of workflows with two version rows. */
const ROWS: Record<string, number> = {
  step_configuration: STEPS,
  step_configuration_labels: STEPS / 50,
  workflow: (STEPS / 10) * 1.1,
};

interface TableScans {
  table: string;
  seq: number;
  idx: number;
  /** Rows fetched through an index. */
  fetched: number;
}

/** Waits until no session but this one is on the database: a session's counters are flushed when it ends. */
async function othersGone(k: Knex, db: TestDatabase): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await k.raw(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()',
      [db.name],
    );
    if (Number(rows[0].n) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sessions still open on the test database');
}

/** The sequential and index scans of the tool's two tables since their counters were reset. */
async function scans(k: Knex): Promise<TableScans[]> {
  const { rows } = await k.raw(
    'SELECT relname AS table, seq_scan AS seq, coalesce(idx_scan, 0) AS idx, coalesce(idx_tup_fetch, 0) AS fetched ' +
      'FROM pg_stat_user_tables WHERE relname IN (?, ?, ?) ORDER BY relname',
    TABLES,
  );
  return rows.map((r: Record<string, string>) => ({
    table: r.table as string,
    seq: Number(r.seq),
    idx: Number(r.idx),
    fetched: Number(r.fetched),
  }));
}

// PostgreSQL only: SQLite's planner assumes indexes are selective when it has no statistics, and
// InnoDB keeps statistics of every table from its creation.
describe('a PostgreSQL database whose tables have no planner statistics (autovacuum off, or just restored)', () => {
  let available = false;
  beforeAll(async () => {
    available = await requireOrSkip('postgres');
  });

  it('is read by index, batch by batch, not scanned whole for every batch', async (ctx) => {
    if (!available) ctx.skip();
    const db = await createTestDatabase('postgres');
    // A session of its own, with one connection, to read the counters of the others.
    const stats = knexFactory({ ...knexConfig('postgres', db.url), pool: { min: 0, max: 1 } });
    try {
      await generateDatabase(db, STEPS);
      const k = db.knex();
      // No statistics, whether or not autovacuum got to the tables first, and none to come.
      for (const table of TABLES) {
        await k.raw('ALTER TABLE ?? SET (autovacuum_enabled = false)', [table]);
        await k.raw('DELETE FROM pg_statistic WHERE starelid = CAST(? AS regclass)', [table]);
      }
      const analyzed = await k.raw('SELECT count(*) AS n FROM pg_stats WHERE tablename IN (?, ?, ?)', TABLES);
      expect(Number(analyzed.rows[0].n)).toBe(0);
      await k.destroy();
      await othersGone(stats, db);
      for (const table of TABLES)
        await stats.raw('SELECT pg_stat_reset_single_table_counters(CAST(? AS regclass))', [table]);

      // The orphans export reads the orphans' label rows too: by `parent`, which no index leads with.
      const orphansOut = join(dir(), 'orphans.json');
      const run = await cli([
        '--db',
        db.url,
        '--json',
        '--quiet',
        '--yes',
        '--batch-size',
        String(BATCH),
        '--orphans-out',
        orphansOut,
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.json().summary.folded).toBe(STEPS - STEPS / 100);
      await othersGone(stats, db);
      // A session's counters reach the view when it ends (before PostgreSQL 15, a moment later).
      const batches = Math.ceil(STEPS / 10 / BATCH);
      const looked = (c: TableScans) => c.table === 'step_configuration_labels' || c.idx >= batches;
      let counted = await scans(stats);
      for (let i = 0; i < 50 && !counted.every(looked); i++) {
        await new Promise((r) => setTimeout(r, 100));
        await stats.raw('SELECT pg_stat_clear_snapshot()');
        counted = await scans(stats);
      }

      expect(counted.map((c) => c.table)).toEqual(TABLES);
      const [labels] = counted.splice(1, 1);
      // One scan of the label table for the export's one page of orphans, not one per orphan.
      expect(labels?.seq).toBeLessThanOrEqual(2);
      expect(readFileSync(orphansOut, 'utf8')).toContain('"labels"');
      for (const c of counted) {
        // Each batch looked its rows up through an index, reading about its own rows from it...
        expect(c.idx, c.table).toBeGreaterThanOrEqual(batches);
        expect(c.fetched, c.table).toBeLessThanOrEqual(2 * (ROWS[c.table] as number));
        // ...and only the few whole-table reads (counts, keys, the set-based write) scanned the table.
        expect(c.seq, c.table).toBeLessThanOrEqual(4);
      }
    } finally {
      await stats.destroy();
      await db.drop();
    }
  }, 120_000);
});
