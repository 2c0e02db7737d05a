// The naive peer: the fold as an operator would write it by hand with knex, to compare the tool with.
// `node scripts/bench/peer.mjs CLIENT CONNECTION` (better-sqlite3 FILE, pg URL, mysql2 URL).
//
// It loads every step row and every workflow row at once, groups the step rows by workflow_id in
// JavaScript, sorts each group by (created, name), builds each item with JSON.parse, and writes each
// workflow row that has steps (every version row of its uid) with its own UPDATE, all in one
// transaction. It backs nothing up (its operator would rely on a dump taken before), validates
// nothing, skips orphans without a word, appends again when run twice, and keeps no number literal
// (JSON.stringify writes 0.50 as 0.5): the floor's shortcuts, in JavaScript.
import knex from 'knex';

const [client, connection] = process.argv.slice(2);
const db = knex({
  client,
  connection: client === 'better-sqlite3' ? { filename: connection } : connection,
  useNullAsDefault: true,
});

const json = (value) => (typeof value === 'string' ? JSON.parse(value) : value); // pg parses json itself

try {
  const groups = new Map();
  for (const step of await db.select('*').from('step_configuration')) {
    if (step.workflow_id === null) continue;
    if (!groups.has(step.workflow_id)) groups.set(step.workflow_id, []);
    groups.get(step.workflow_id).push(step);
  }
  const itemsOf = new Map();
  for (const [uid, steps] of groups) {
    steps.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.name < b.name ? -1 : 1));
    itemsOf.set(
      uid,
      steps.map((step) => {
        const spec = json(step.spec);
        return {
          name: step.name,
          step_name: spec.step_name,
          branch: spec.branch ?? 'default',
          kwargs: spec.kwargs ?? {},
        };
      }),
    );
  }
  const workflows = await db.select('*').from('workflow');
  await db.transaction(async (trx) => {
    for (const workflow of workflows) {
      const items = itemsOf.get(workflow.uid);
      if (!items) continue;
      const spec = json(workflow.spec) ?? {};
      spec.step_configurations = [...(spec.step_configurations ?? []), ...items];
      await trx('workflow')
        .where({ uid: workflow.uid, version: workflow.version })
        .update({ spec: JSON.stringify(spec) });
    }
  });
} finally {
  await db.destroy();
}
