/**
 * `npm run bench`: how fast is the tool, against the best a single set-based SQL transaction
 * can do (the floors, scripts/bench/floors.ts), and against the fold as an operator would write it
 * by hand with knex (the naive peer, scripts/bench/peer.mjs)?
 *
 * First, start-up: the tool's --version, --help and a status of the sample database against
 * `node -e 0` (scripts/bench/startup.ts). Then, for each database (SQLite always; PostgreSQL and
 * MariaDB when reachable) and size, one template database is generated (test/support/generate.ts);
 * every measurement then runs on a fresh copy of it:
 *   (a) tool --dry-run, (b) tool apply, (c) tool --rollback --yes of that apply   — one copy, in sequence
 *   (d) tool --drop-table --yes --orphans-out FILE                                — its own copy
 *   (e) floor 1, (f) floor 2, (g) the naive peer                                  — a copy each
 * Tool and references alternate ((a-c), (e, g), (d), (f); the references first in every other
 * repetition), so both see the same machine state. At the smallest size (if ≤ 100,000 rows), the
 * first repetition also checks that floor 1 leaves the workflow table and backups the tool's apply
 * leaves (and floor 2 the same as floor 1, with every step and label row kept), and that the peer
 * leaves the same workflow specs (parsed; it keeps no backup). Modules: scripts/bench/*.ts.
 */
import { writeFileSync } from 'node:fs';
import type { Dialect } from '../test/support/databases.js';
import { BenchError, checkInterrupted, interruptedBy, runMain } from './bench/cleanup.js';
import { runFloor } from './bench/floor-run.js';
import { FLOOR, floorVariant } from './bench/floors.js';
import { parseOptions } from './bench/options.js';
import { PEER_MAX_STEPS, runPeer } from './bench/peer-run.js';
import { machineLine, markdown, repLine, updateTableFile, TABLE_END, TABLE_FILE, TABLE_START } from './bench/report.js';
import { median, medianRep, type Rep, type Result } from './bench/results.js';
import { measureStartup, startupLine } from './bench/startup.js';
import {
  copyTemplate,
  generateTemplate,
  makeWorkDir,
  openSession,
  reachableDatabases,
  serverVersion,
  type Copy,
  type Session,
  type Template,
} from './bench/targets.js';
import { runTool, type ToolMode } from './bench/tool.js';
import {
  checkKeptTables,
  compareSpecs,
  compareStates,
  readFloorState,
  readToolState,
  workflowSpecs,
  type Rows,
  type State,
} from './bench/verify.js';

const USAGE = `usage: npm run bench -- [options]

Times the tool (dry run, apply, rollback, apply --drop-table) against the floors (the same fold as one
set-based SQL transaction) and the naive peer (the fold written by hand with knex) on generated databases,
and the tool's start-up against \`node -e 0\`; prints a Markdown table with the targets.

  --sizes N,N,…          step rows per database (default 100000,1000000)
  --reps N               repetitions per size (default 3); medians are reported
  --databases LIST       sqlite,postgres,mysql (default all; a server that is unreachable is skipped)
  --out FILE             also write the Markdown (machine line, table, targets, start-up) to FILE
  --update-readme        replace the text between ${TABLE_START} and ${TABLE_END} in ${TABLE_FILE}
  --help                 this text

Servers: STEPCFG_TEST_PG_URL, STEPCFG_TEST_MYSQL_URL (as for the tests; default the local ones).
STEPCFG_BENCH_BIN=path runs another build of bin/stepcfg-migrate. BENCH_DEBUG=1 adds stack traces.
Floors: ${Object.entries(FLOOR)
  .map(([d, name]) => `${d} ${name}`)
  .join(', ')} (all formulations: node --import tsx scripts/bench/floor-variants.ts).
The peer runs at sizes up to ${PEER_MAX_STEPS} (it holds every row in memory).
`;

/** Verification reads every workflow row twice into memory: only at sizes up to this. */
const VERIFY_MAX = 100_000;

await runMain('bench', async () => {
  const options = parseOptions(process.argv.slice(2), ['sizes', 'reps', 'databases', 'out', 'update-readme', 'help'], {
    sizes: [100_000, 1_000_000],
    reps: 3,
  });
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const dir = makeWorkDir();
  const databases = await reachableDatabases(options.databases);
  if (databases.length === 0) throw new BenchError('no database to run on');
  const versions: Partial<Record<Dialect, string>> = {};
  for (const dialect of databases) versions[dialect] = await serverVersion(dialect);
  const machine = machineLine(versions);
  console.log(machine);
  const startup = await measureStartup();
  console.log(startupLine(startup));

  const smallest = options.sizes[0]!;
  const verifyAt = smallest <= VERIFY_MAX ? smallest : undefined;
  if (verifyAt === undefined)
    console.log(
      `(floors and peer are checked against the tool at the smallest size when it is ≤ ${VERIFY_MAX}: not in this run)`,
    );

  const results: Result[] = [];
  try {
    for (const dialect of databases) {
      for (const steps of options.sizes)
        results.push(await benchmark(dialect, steps, options.reps, dir, steps === verifyAt));
    }
  } catch (error) {
    // What was measured before the failure is still worth seeing.
    if (results.length > 0 && !interruptedBy())
      console.log(`\nResults before the failure:\n\n${markdown(machine, results, options.reps, startup)}\n`);
    throw error;
  }

  const block = markdown(machine, results, options.reps, startup);
  console.log(`\n${block}`);
  if (options.out) {
    writeFileSync(options.out, `${block}\n`);
    console.log(`\nwrote ${options.out}`);
  }
  if (options.updateReadme) {
    if (updateTableFile(block)) console.log(`updated ${TABLE_FILE}`);
    else console.log(`${TABLE_FILE} has no ${TABLE_START} … ${TABLE_END} markers: not updated`);
  }
});

/** One repetition: what its steps run on, and what they measure and read. */
interface RepRun {
  dialect: Dialect;
  template: Template;
  dir: string;
  floor: ReturnType<typeof floorVariant>;
  result: Result;
  times: Partial<Rep>;
  states: { tool?: State; floor1?: State; floor2?: State; peer?: Rows };
  /** Whether this repetition checks the floors' and the peer's results against the tool's. */
  check: boolean;
  prefix: string;
}

/** All repetitions of one database and size. */
async function benchmark(dialect: Dialect, steps: number, reps: number, dir: string, verify: boolean): Promise<Result> {
  const label = `${dialect} ${steps}`;
  checkInterrupted();
  const template = await generateTemplate(dialect, steps);
  console.log(`\n${label}: template generated in ${template.seconds.toFixed(1)} s`);
  const floor = floorVariant(dialect);
  const result: Result = { dialect, steps, stepRows: 0, reps: [], peakRssKb: 0, peerRssKb: NaN };
  const withPeer = steps <= PEER_MAX_STEPS;
  if (!withPeer) console.log(`(the naive peer runs at sizes up to ${PEER_MAX_STEPS}: not at ${steps})`);

  for (let rep = 1; rep <= reps; rep++) {
    const run: RepRun = {
      dialect,
      template,
      dir,
      floor,
      result,
      times: {},
      states: {},
      check: verify && rep === 1,
      prefix: `  rep ${rep}`,
    };
    // Tool and references alternate; every other repetition the references go first.
    const pairs = [
      [applyDryRunRollback, [floor1, ...(withPeer ? [peer] : [])]],
      [drop, [floor2]],
    ] as const;
    for (const [toolStep, references] of pairs) {
      for (const step of rep % 2 === 1 ? [toolStep, ...references] : [...references, toolStep]) await step(run);
    }

    if (run.check) {
      compareStates(dialect, run.states.tool!, run.states.floor1!, ['the tool', 'floor 1']);
      compareStates(dialect, run.states.floor1!, run.states.floor2!, ['floor 1', 'floor 2']);
      if (withPeer) compareSpecs(dialect, run.states.tool!.specs, run.states.peer!, ['the tool', 'the peer']);
      console.log(`floor${withPeer ? ' and peer' : ''} results equal the tool's at ${steps} rows on ${dialect}`);
    }
    result.reps.push({ peer: NaN, ...run.times } as Rep);
    console.log(`${label} rep ${rep}: ${repLine(run.times as Rep)}`);
  }
  const rowsPerSecond = Math.round(result.stepRows / median(result.reps.map((r) => r.apply)));
  console.log(
    `${label} median of ${reps}: ${repLine(medianRep(result.reps))}; apply ${rowsPerSecond} rows/s; ` +
      `peak RSS of the tool ${(result.peakRssKb / 1024).toFixed(0)} MB` +
      (withPeer ? `, of the peer ${(result.peerRssKb / 1024).toFixed(0)} MB` : ''),
  );
  await template.drop();
  return result;
}

/** One run of the tool on a copy: its time under `key`, its peak memory into the result. */
async function timeTool(run: RepRun, copy: Copy, mode: ToolMode, key: keyof Rep) {
  checkInterrupted();
  const ran = await runTool(copy, mode, run.dir);
  run.times[key] = ran.seconds;
  run.result.peakRssKb = Math.max(run.result.peakRssKb, ran.peakRssKb);
  console.log(
    `${run.prefix}  tool ${mode.padEnd(9)} ${ran.seconds.toFixed(3)} s  (peak RSS ${(ran.peakRssKb / 1024).toFixed(0)} MB)`,
  );
  return ran;
}

/** (a)–(c): the tool's dry run, apply and rollback of that apply, on one copy. */
function applyDryRunRollback(run: RepRun): Promise<void> {
  return onFreshCopy(run.template, run.dir, async (copy) => {
    await timeTool(run, copy, 'dry-run', 'dryRun');
    run.result.stepRows = (await timeTool(run, copy, 'apply', 'apply')).stepRows;
    if (run.check) run.states.tool = await withSession(copy, (s) => readToolState(s, run.dialect));
    await timeTool(run, copy, 'rollback', 'rollback');
  });
}

/** (d): the tool's apply --drop-table, on its own copy. */
function drop(run: RepRun): Promise<void> {
  return onFreshCopy(run.template, run.dir, (copy) => timeTool(run, copy, 'drop', 'drop').then(() => undefined));
}

/** (e): floor 1, on its own copy. */
function floor1(run: RepRun): Promise<void> {
  return onFreshCopy(run.template, run.dir, async (copy) => {
    checkInterrupted();
    const inspect = run.check ? (s: Session) => readFloorState(s, run.dialect) : undefined;
    const ran = await runFloor(copy, run.floor, 'floor1', inspect);
    run.times.floor1 = ran.seconds;
    run.states.floor1 = ran.inspected;
    console.log(`${run.prefix}  floor 1        ${ran.seconds.toFixed(3)} s`);
  });
}

/** (f): floor 2, on its own copy; checked, every step and label row is kept. */
function floor2(run: RepRun): Promise<void> {
  return onFreshCopy(run.template, run.dir, async (copy) => {
    checkInterrupted();
    const before = run.check ? await withSession(copy, (s) => countStepsAndLabels(s)) : undefined;
    const inspect = run.check ? (s: Session) => readFloorState(s, run.dialect) : undefined;
    const ran = await runFloor(copy, run.floor, 'floor2', inspect);
    if (before) await withSession(copy, (s) => checkKeptTables(s, run.dialect, before.steps, before.labels));
    run.times.floor2 = ran.seconds;
    run.states.floor2 = ran.inspected;
    console.log(`${run.prefix}  floor 2        ${ran.seconds.toFixed(3)} s`);
  });
}

/** (g): the naive peer, on its own copy, as its own process. */
function peer(run: RepRun): Promise<void> {
  return onFreshCopy(run.template, run.dir, async (copy) => {
    checkInterrupted();
    const ran = await runPeer(copy, run.dir);
    run.times.peer = ran.seconds;
    run.result.peerRssKb = Math.max(run.result.peerRssKb || 0, ran.peakRssKb);
    if (run.check) run.states.peer = await withSession(copy, (s) => workflowSpecs(s, run.dialect));
    console.log(
      `${run.prefix}  peer           ${ran.seconds.toFixed(3)} s  (peak RSS ${(ran.peakRssKb / 1024).toFixed(0)} MB)`,
    );
  });
}

/** Runs fn on a fresh copy of the template and removes the copy afterwards. */
async function onFreshCopy(template: Template, dir: string, fn: (copy: Copy) => Promise<void>): Promise<void> {
  checkInterrupted();
  const copy = await copyTemplate(template, dir);
  try {
    await fn(copy);
  } finally {
    await copy.drop();
  }
}

async function withSession<T>(copy: Copy, fn: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(copy);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

async function countStepsAndLabels(session: Session): Promise<{ steps: number; labels: number }> {
  const count = async (table: string) =>
    Number((await session.rows<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  return { steps: await count('step_configuration'), labels: await count('step_configuration_labels') };
}
