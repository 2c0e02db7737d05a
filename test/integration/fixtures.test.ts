import { describe, expect, it } from 'vitest';
import {
  DIALECTS,
  byCodePoint,
  createTestDatabase,
  databaseExists,
  dumpDatabase,
  listTables,
  loadDataset,
  loadSchema,
  readWorkflowSpecs,
  requireOrSkip,
  withDataset,
} from '../support/databases.js';
import { DATASETS, datasetRows } from '../support/datasets.js';

for (const dialect of DIALECTS) {
  const run = await requireOrSkip(dialect);

  describe.skipIf(!run)(`fixtures on ${dialect}`, () => {
    for (const name of DATASETS) {
      it(`${name}: loads every listed row verbatim, dumps stably, drops without a trace`, async () => {
        const db = await createTestDatabase(dialect);
        try {
          await loadSchema(db);
          await loadDataset(db, name);
          const tables = datasetRows(name, dialect);
          expect(await listTables(db)).toEqual(Object.keys(tables).sort(byCodePoint));
          for (const [table, rows] of Object.entries(tables)) {
            const [counted] = await db.knex()(table).count({ n: '*' });
            expect(Number(counted?.n), table).toBe(rows.length);
          }

          const expectedSpecs = (tables.workflow ?? [])
            .map((row) => ({ uid: String(row.uid), version: String(row.version), spec: row.spec as string | null }))
            .sort((a, b) => byCodePoint(a.uid, b.uid) || byCodePoint(a.version, b.version));
          expect(await readWorkflowSpecs(db)).toEqual(expectedSpecs);

          const first = await dumpDatabase(db);
          expect(await dumpDatabase(db)).toBe(first);
          expect(first).toContain('== step_configuration (');
          expect(await databaseExists(dialect, db.name)).toBe(true);
        } finally {
          await db.drop();
        }
        expect(await databaseExists(dialect, db.name)).toBe(false);
      });
    }

    it('cases: number literals, unicode escapes and datetimes are stored as written', async () => {
      await withDataset(dialect, 'cases', async (db) => {
        const dump = await dumpDatabase(db);
        expect(dump).toContain('12345678901234567890, \\"neg_zero\\": -0.0, \\"huge\\": 1e400');
        expect(dump).toContain('3.14159265358979323846264338327950288');
        expect(dump).toContain('caf\\\\u00e9');
        expect(dump).toContain('\\\\ud83d\\\\ude00');
        expect(dump).toContain('résumé-中文-😀');
        // MariaDB's DATETIME keeps seconds only, as SQLAlchemy creates it there.
        expect(dump).toContain(dialect === 'mysql' ? '2024-03-01 03:00:05"' : '2024-03-01 03:00:05.000002');
      });
    });

    it('dumpDatabase leaves out stepcfg_migrate_* tables by default', async () => {
      await withDataset(dialect, 'empty', async (db) => {
        const before = await dumpDatabase(db);
        await db.knex().schema.createTable('stepcfg_migrate_probe', (t) => t.integer('id'));
        await db.knex()('stepcfg_migrate_probe').insert({ id: 1 });
        expect(await dumpDatabase(db)).toBe(before);
        expect(await dumpDatabase(db, { exclude: () => false })).toContain('== stepcfg_migrate_probe (');
      });
    });
  });
}
