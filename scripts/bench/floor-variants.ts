/**
 * Development aid for the floors: times every formulation of floor 1 in floors.ts against the others
 * (fresh copy each, order rotated per repetition) and checks that they all leave the same workflow
 * table and backups. The benchmark itself times only the formulation named in `FLOOR`.
 *
 * First, per database, every formulation is checked against the tool on the edge cases of
 * fixtures/datasets/cases.json (SQL NULL and `null` specs, an existing step_configurations array,
 * defaults for branch/kwargs, number literals, unicode, name ties), less its one row whose item is
 * already in its workflow (the tool counts it `unchanged`; a floor, which detects nothing, would
 * append it again), plus two workflow specs for the floors' text splice to stay away from: an empty
 * object with a space, `{ }`, and an object followed by whitespace. Needs dist/ (npm run build).
 *
 *   node --import tsx scripts/bench/floor-variants.ts [--sizes 100000] [--reps 3] [--databases sqlite,postgres,mysql]
 */
import { loadDataset, loadSchema, type Dialect } from '../../test/support/databases.js';
import { checkInterrupted, runMain } from './cleanup.js';
import { runFloor } from './floor-run.js';
import { FLOOR, FLOOR_VARIANTS } from './floors.js';
import { parseOptions } from './options.js';
import { copyTemplate, generateTemplate, makeTemplate, makeWorkDir, reachableDatabases } from './targets.js';
import { runTool } from './tool.js';
import { openSession } from './targets.js';
import { compareStates, readFloorState, readToolState, type State } from './verify.js';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

await runMain('floor-variants', async () => {
  const options = parseOptions(process.argv.slice(2), ['sizes', 'reps', 'databases', 'help'], {
    sizes: [100_000],
    reps: 3,
  });
  if (options.help) {
    console.log(
      'usage: node --import tsx scripts/bench/floor-variants.ts [--sizes N,…] [--reps N] [--databases sqlite,postgres,mysql]',
    );
    return;
  }
  const dir = makeWorkDir();
  for (const dialect of await reachableDatabases(options.databases)) {
    await checkEdgeCases(dialect, dir);
    for (const steps of options.sizes) {
      const template = await generateTemplate(dialect, steps);
      console.log(`${dialect} ${steps} rows: generated in ${template.seconds.toFixed(1)} s`);
      const variants = FLOOR_VARIANTS[dialect as Dialect];
      const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
      let reference: { name: string; state: State } | undefined;
      for (let rep = 0; rep < options.reps; rep++) {
        const order = variants.map((_, i) => variants[(i + rep) % variants.length]!);
        for (const variant of order) {
          checkInterrupted();
          const copy = await copyTemplate(template, dir);
          const run = await runFloor(
            copy,
            variant,
            'floor1',
            rep === 0 ? (s) => readFloorState(s, dialect) : undefined,
          );
          await copy.drop();
          times.get(variant.name)!.push(run.seconds);
          console.log(`  rep ${rep + 1} ${variant.name.padEnd(22)} ${run.seconds.toFixed(3)} s`);
          if (run.inspected) {
            if (!reference) reference = { name: variant.name, state: run.inspected };
            else compareStates(dialect, reference.state, run.inspected, [reference.name, variant.name]);
          }
        }
      }
      console.log(`${dialect} ${steps} rows, median of ${options.reps} (all formulations leave the same result):`);
      for (const [name, xs] of times)
        console.log(
          `  ${name.padEnd(22)} ${median(xs).toFixed(3)} s${name === FLOOR[dialect] ? '  (used by npm run bench)' : ''}`,
        );
      await template.drop();
    }
  }
});

/** Every formulation against the tool's apply on the `cases` dataset (see the header). */
async function checkEdgeCases(dialect: Dialect, dir: string): Promise<void> {
  const template = await makeTemplate(dialect, 21, async (db) => {
    await loadSchema(db);
    await loadDataset(db, 'cases');
    await db.knex()('step_configuration_labels').where('parent', 'existing-same').delete();
    await db.knex()('step_configuration').where('name', 'existing-same').delete();
    await db.knex()('workflow').where('uid', 'wf-defaults').update({ spec: '{ }' });
    await db
      .knex()('workflow')
      .where('uid', 'wf-copies')
      .update({ spec: '{"branch": "main", "configuration": {}} \n' });
  });
  const toolCopy = await copyTemplate(template, dir);
  await runTool(toolCopy, 'apply', dir);
  const session = await openSession(toolCopy);
  const toolState = await readToolState(session, dialect).finally(() => session.close());
  await toolCopy.drop();
  for (const variant of FLOOR_VARIANTS[dialect]) {
    for (const kind of ['floor1', 'floor2'] as const) {
      const copy = await copyTemplate(template, dir);
      const run = await runFloor(copy, variant, kind, (s) => readFloorState(s, dialect));
      await copy.drop();
      compareStates(dialect, toolState, run.inspected, ['the tool', `${variant.name} (${kind})`]);
    }
  }
  await template.drop();
  console.log(`${dialect}: every floor formulation equals the tool on the edge cases of fixtures/datasets/cases.json`);
}
