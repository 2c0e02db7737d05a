import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, runBin } from '../support/cli.js';
import { dumpDatabase, listTables, withDataset } from '../support/databases.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { tempDir } from '../support/temp-dir.js';
import { startOnTerminal, type OnTerminal } from '../support/terminal.js';

const dir = tempDir('stepcfg-question-');
const NO_COLOR = { NO_COLOR: '1' };

/** Everything the terminal showed once it shows `pattern`. */
async function shownAfter(run: OnTerminal, pattern: RegExp): Promise<string> {
  await run.printed(pattern);
  return run.output();
}

/** The screen as one line of text: a terminal may wrap a long question, and its escapes go. */
const flat = (screen: string) =>
  screen.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g'), '').replace(/\s+/g, ' ');
const PROMPT = /\[y\/N\] /;
let files = 0;

describeEachDialect('the question before writing, on a terminal', (dialect, need) => {
  it('shows the plan, then asks once naming the database; "n" cancels with exit 3 and writes nothing', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const before = await dumpDatabase(db);
      const run = startOnTerminal(['apply', '--db', db.url], NO_COLOR);
      const shown = flat(await shownAfter(run, PROMPT));
      expect(shown).toMatch(/Apply this plan to \S+ \S+\? \[y\/N\] $/);
      // The plan comes before the question: the counts, then the question.
      expect(shown).toMatch(/to fold 22 .*workflow rows 7 to update .*Apply this plan to/);
      run.type('n\r');
      const ended = await run.done;
      expect(ended.code).toBe(3);
      expect(ended.output).toContain('Cancelled at the question; nothing was written.');
      expect(await dumpDatabase(db)).toBe(before);
      expect((await listTables(db)).filter((t) => t.startsWith('stepcfg_migrate'))).toEqual([]);
    });
  });

  it('"y" applies the plan it showed, drop included; rollback asks the same way', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const orphans = join(dir(), `${files++}-orphans.json`);
      const apply = startOnTerminal(['apply', '--db', db.url, '--drop-table', '--orphans-out', orphans], NO_COLOR);
      const dropAsked = flat(await shownAfter(apply, PROMPT));
      expect(dropAsked).toMatch(/then drop step_configuration_labels and step_configuration .*\? \[y\/N\] $/);
      apply.type('y\r');
      const applied = await apply.done;
      expect(applied.code).toBe(0);
      expect(applied.output).toMatch(/Done: 22 row\(s\) folded into 7 workflow row\(s\), tables dropped/);
      expect(await listTables(db)).not.toContain('step_configuration');

      const rollback = startOnTerminal(['rollback', '--db', db.url], NO_COLOR);
      const asked = flat(await shownAfter(rollback, PROMPT));
      expect(asked).toMatch(/Roll back run [0-9a-f-]+ on \S+ \S+\? .*\[y\/N\] $/);
      expect(asked).toMatch(/workflows\s+7 to restore/); // what it will restore, before the question
      rollback.type('y\r');
      expect((await rollback.done).code).toBe(0);
      expect(await listTables(db)).toContain('step_configuration');
      expect((await cli(['status', '--db', db.url])).code).toBe(3); // everything is to fold again
    });
  });
});

it('off a terminal, --drop-table, rollback and cleanup without --yes are refused before connecting (exit 3)', async () => {
  // Nothing listens on port 1: reaching the database would fail with exit 1 instead.
  const nowhere = 'postgresql://postgres@127.0.0.1:1/none';
  for (const args of [['apply', '--drop-table'], ['rollback'], ['cleanup'], ['--rollback']]) {
    const run = await runBin([...args, '--db', nowhere]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/needs --yes when there is no terminal to answer its question; nothing was written\n$/);
  }
  expect((await runBin(['rollback', '--dry-run', '--db', nowhere])).code).toBe(1); // a dry run needs no answer
});

describeEachDialect('a reviewed plan on a terminal', (dialect, need) => {
  it('apply --plan does not ask again; a plan with a drop asks, and one that no longer holds is refused unasked', async (ctx) => {
    need(ctx);
    await withDataset(dialect, 'sample', async (db) => {
      const plan = join(dir(), `${files++}-fold.plan`);
      expect((await cli(['plan', '--db', db.url, '--out', plan, '-q'])).code).toBe(0);
      const applied = await startOnTerminal(['apply', '--db', db.url, '--plan', plan], NO_COLOR).done;
      expect(applied.code).toBe(0);
      expect(applied.output).not.toMatch(PROMPT);
      expect(applied.output).toContain(`Plan carried out: ${plan}`);
      expect((await cli(['rollback', '--db', db.url, '--yes', '-q'])).code).toBe(0);

      const orphans = join(dir(), `${files++}-orphans.json`);
      const dropPlan = join(dir(), `${files++}-drop.plan`);
      const planned = await cli(['plan', '--db', db.url, '--drop-table', '--orphans-out', orphans, '--out', dropPlan]);
      expect(planned.code).toBe(0);
      const asked = startOnTerminal(['apply', '--db', db.url, '--plan', dropPlan], NO_COLOR);
      expect(flat(await shownAfter(asked, PROMPT))).toMatch(
        /then drop step_configuration_labels and step_configuration/,
      );
      asked.type('n\r');
      expect((await asked.done).code).toBe(3);

      const k = db.knex();
      const [workflow] = await k('workflow').whereIn('uid', k('step_configuration').select('workflow_id')).limit(1);
      await k('workflow').where({ uid: workflow.uid }).update({ spec: '{"branch": "edited"}' });
      const before = await dumpDatabase(db);
      const refused = await startOnTerminal(['apply', '--db', db.url, '--plan', dropPlan], NO_COLOR).done;
      expect(refused.code).toBe(3);
      expect(refused.output).not.toMatch(PROMPT);
      expect(flat(refused.output)).toContain(`workflow rows changed (`);
      expect(await dumpDatabase(db)).toBe(before);
    });
  });
});
