import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { dumpDatabase, withDataset } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';

describeEachDialect('the runs command', (dialect, need) => {
  it('lists every recorded run with where it ran and what can be rolled back, and writes nothing', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpDatabase(db);
      const none = await cli(['runs', '--db', db.url, '--json']);
      expect(none.code).toBe(0);
      expect(none.json()).toMatchObject({ mode: 'runs', outcome: 'listed', runs: [] });
      expect(await dumpDatabase(db)).toBe(before); // not even the tool's tables

      expect((await cli(['apply', '--db', db.url, '--quiet'])).code).toBe(0);
      const applied = (await cli(['runs', '--db', db.url, '--json'])).json().runs!;
      expect(applied).toHaveLength(1);
      expect(applied[0]).toMatchObject({ mode: 'apply', status: 'applied', workflowsUpdated: 7, canRollBack: true });
      expect(applied[0]).toMatchObject({ host: hostname(), pid: expect.any(Number), tableDropped: false });
      expect(applied[0]!.planFile).toBeNull();

      expect((await cli(['rollback', '--db', db.url, '--yes', '--quiet'])).code).toBe(0);
      const listed = await cli(['runs', '--db', db.url]);
      expect(listed.code).toBe(0);
      // The last columns: can roll back, and the plan carried out (none here).
      expect(listed.stdout).toMatch(/apply +rolled_back .* no +-\n/);
      expect(listed.stdout).toMatch(/rollback +done /);
      expect(listed.stdout).toContain('2 run(s) recorded.');
    });
  });
});
