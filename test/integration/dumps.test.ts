import { expect, it } from 'vitest';
import { dumpDatabase, sqliteDotDump, withDataset, type Dialect, type TestDatabase } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';

// The dump a rollback must reproduce is only worth something if it sees what a rollback can lose:
// each change below is one such loss, made on a fresh copy of `sample`.

const STEP = 'step_configuration';
const LABELS = 'step_configuration_labels';

/** The lines only in `before` (removed) and only in `after` (added), each in its dump's order. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { removed: a.filter((line) => !b.includes(line)), added: b.filter((line) => !a.includes(line)) };
}

/** Loads `sample`, dumps it (twice: dumping changes nothing, no counter moves), applies the change, dumps again. */
async function dumpsAround(
  dialect: Dialect,
  change: (db: TestDatabase) => Promise<void>,
): Promise<{ before: string; after: string }> {
  return withDataset(dialect, 'sample', async (db) => {
    const before = await dumpDatabase(db);
    expect(await dumpDatabase(db)).toBe(before);
    await change(db);
    return { before, after: await dumpDatabase(db) };
  });
}

/**
 * SQLite: recreates a table from its stored SQL (optionally edited), with its indexes in their original
 * order and its rows, the way a rollback that recreates the table would. Other tables are not touched.
 */
async function recreateSqliteTable(db: TestDatabase, table: string, edit = (sql: string) => sql): Promise<void> {
  const k = db.knex();
  const objects = (await k.raw(
    'SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql NOT NULL ORDER BY rowid',
    [table],
  )) as Array<{ type: string; sql: string }>;
  const stash = 'stepcfg_migrate_test_stash';
  await k.transaction(async (trx) => {
    await trx.raw('CREATE TABLE ?? AS SELECT * FROM ??', [stash, table]);
    await trx.raw('DROP TABLE ??', [table]);
    for (const { type, sql } of objects) await trx.raw(type === 'table' ? edit(sql) : sql);
    await trx.raw('INSERT INTO ?? SELECT * FROM ??', [table, stash]);
    await trx.raw('DROP TABLE ??', [stash]);
  });
}

/** Renames a table (`ALTER TABLE … RENAME TO`, which MariaDB accepts too). */
async function rename(db: TestDatabase, from: string, to: string): Promise<void> {
  await db.knex().raw('ALTER TABLE ?? RENAME TO ??', [from, to]);
}

/** What SQLite's `ALTER TABLE … RENAME` away and back does to the shell's `.dump` text of the two tables. */
function asAfterSqliteRename(dotDump: string): string {
  return dotDump
    .replace(/^CREATE TABLE (step_configuration(?:_labels)?) \(/gm, 'CREATE TABLE IF NOT EXISTS "$1" (')
    .replace(/ ON (step_configuration(?:_labels)?) \(/g, ' ON "$1" (')
    .replace(/REFERENCES step_configuration \(/g, 'REFERENCES "step_configuration" (');
}

describeEachDialect('canonical dump', (dialect, need) => {
  it('(a) sees a dropped index of step_configuration', async (ctx) => {
    need(ctx);
    const index = 'ix_step_configuration_owner_id';
    const { before, after } = await dumpsAround(dialect, async (db) => {
      if (dialect === 'mysql') await db.knex().raw('DROP INDEX ?? ON ??', [index, STEP]);
      else await db.knex().raw('DROP INDEX ??', [index]);
    });
    const { removed, added } = lineDiff(before, after);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toContain(index);
    expect(added).toEqual([]);
  });

  it('(b) sees the labels id counter move (insert + delete of a label row)', async (ctx) => {
    need(ctx);
    const { before, after } = await dumpsAround(dialect, async (db) => {
      await db.knex()(LABELS).insert({ name: 'probe', value: 'x' }); // uid from the sequence / AUTO_INCREMENT
      await db.knex()(LABELS).where({ name: 'probe' }).del();
    });
    const { removed, added } = lineDiff(before, after);
    if (dialect === 'postgres') {
      const sequence = `  sequence ${LABELS}_uid_seq owned by uid: integer start 1 increment 1 min 1 max 2147483647 cache 1;`;
      expect(removed).toEqual([`${sequence} last_value 4 is_called true`]);
      expect(added).toEqual([`${sequence} last_value 5 is_called true`]);
    } else if (dialect === 'mysql') {
      expect(removed).toEqual([expect.stringMatching(/^ {4}\) ENGINE=InnoDB AUTO_INCREMENT=5 /)]);
      expect(added).toEqual([expect.stringMatching(/^ {4}\) ENGINE=InnoDB AUTO_INCREMENT=6 /)]);
    } else {
      // `uid INTEGER NOT NULL, PRIMARY KEY (uid)` is the rowid without AUTOINCREMENT: SQLite keeps no
      // counter (the next uid is max + 1 again), so there is nothing for a rollback to preserve.
      expect(after).toBe(before);
    }
  });

  it('(c) sees a changed default and a changed nullability of a step_configuration column', async (ctx) => {
    need(ctx);
    const withDefault = await dumpsAround(dialect, async (db) => {
      const edit = (sql: string) => sql.replace('description VARCHAR,', "description VARCHAR DEFAULT '',");
      if (dialect === 'sqlite') await recreateSqliteTable(db, STEP, edit);
      else await db.knex().raw("ALTER TABLE ?? ALTER COLUMN ?? SET DEFAULT ''", [STEP, 'description']);
    });
    const nullable = await dumpsAround(dialect, async (db) => {
      const edit = (sql: string) => sql.replace('project_id VARCHAR(64) NOT NULL,', 'project_id VARCHAR(64),');
      if (dialect === 'sqlite') await recreateSqliteTable(db, STEP, edit);
      else if (dialect === 'postgres')
        await db.knex().raw('ALTER TABLE ?? ALTER COLUMN ?? DROP NOT NULL', [STEP, 'project_id']);
      else await db.knex().raw('ALTER TABLE ?? MODIFY ?? VARCHAR(64) NULL', [STEP, 'project_id']);
    });

    const defaultLine = {
      sqlite: "    \tdescription VARCHAR DEFAULT '', ",
      postgres: "  column description: character varying NULL DEFAULT ''::character varying",
      mysql: "      `description` varchar(1024) DEFAULT '',",
    }[dialect];
    expect(lineDiff(withDefault.before, withDefault.after).added).toContain(defaultLine);
    const nullableLine = {
      sqlite: '    \tproject_id VARCHAR(64), ',
      postgres: '  column project_id: character varying(64) NULL',
      mysql: '      `project_id` varchar(64) DEFAULT NULL,',
    }[dialect];
    const { removed, added } = lineDiff(nullable.before, nullable.after);
    expect(removed.some((line) => /project_id[^,]* NOT NULL/.test(line))).toBe(true);
    expect(added).toContain(nullableLine);
  });

  if (dialect === 'sqlite') {
    it("(b) on SQLite: the dump sees an AUTOINCREMENT table's sqlite_sequence row", async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        await db.knex().raw('CREATE TABLE probe_autoinc (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)');
        const before = await dumpDatabase(db);
        await db.knex()('probe_autoinc').insert({ v: 'x' });
        await db.knex()('probe_autoinc').del();
        expect(lineDiff(before, await dumpDatabase(db))).toEqual({ removed: [], added: ['  sqlite_sequence: 1'] });
      });
    });

    it('(d) on SQLite: ALTER TABLE … RENAME away and back leaves the table names quoted', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await dumpDatabase(db);
        const dotBefore = sqliteDotDump(db.url, [STEP, LABELS]);
        for (const t of [STEP, LABELS]) await rename(db, t, `stepcfg_migrate_${t}`);
        for (const t of [STEP, LABELS]) await rename(db, `stepcfg_migrate_${t}`, t);

        // SQLite stores the new name as "name" in the table's CREATE, in its indexes' ON and (3.26+,
        // legacy_alter_table off) in other tables' REFERENCES; the shell prints a quoted CREATE TABLE as
        // CREATE TABLE IF NOT EXISTS. Rows, columns and index names are unchanged.
        expect(sqliteDotDump(db.url, [STEP, LABELS])).toBe(asAfterSqliteRename(dotBefore));
        const { removed, added } = lineDiff(before, await dumpDatabase(db));
        expect(removed).toHaveLength(9);
        expect(added).toEqual(
          removed.map((line) => line.replace(/(TABLE|ON|REFERENCES) (step_configuration(?:_labels)?) /, '$1 "$2" ')),
        );
      });
    });

    it('(d) on SQLite: recreating the tables from their stored SQL gives an identical dump and .dump', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await dumpDatabase(db);
        const dotBefore = sqliteDotDump(db.url, [STEP, LABELS]);
        await recreateSqliteTable(db, LABELS);
        await recreateSqliteTable(db, STEP);
        expect(await dumpDatabase(db)).toBe(before);
        expect(sqliteDotDump(db.url, [STEP, LABELS])).toBe(dotBefore);
      });
    });
  } else {
    it('(d) renaming both tables away and back gives an identical dump', async (ctx) => {
      need(ctx);
      await withDataset(dialect, 'sample', async (db) => {
        const before = await dumpDatabase(db);
        for (const t of [STEP, LABELS]) await rename(db, t, `stepcfg_migrate_${t}`);
        const away = await dumpDatabase(db);
        expect(away).not.toContain(`== ${STEP} (`);
        expect(away).not.toContain(`== ${LABELS} (`);
        if (dialect === 'mysql') {
          // InnoDB renames generated FK names (<table>_ibfk_<n>) with their table.
          const all = await dumpDatabase(db, { exclude: () => false });
          const fk = `CONSTRAINT \`stepcfg_migrate_${LABELS}_ibfk_1\` FOREIGN KEY (\`parent\`) REFERENCES \`stepcfg_migrate_${STEP}\``;
          expect(all).toContain(fk);
        }
        for (const t of [STEP, LABELS]) await rename(db, `stepcfg_migrate_${t}`, t);
        expect(await dumpDatabase(db)).toBe(before);
      });
    });
  }
});
