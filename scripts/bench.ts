/**
 * `npm run bench` (issue 5): how fast is the tool, against the best a single set-based SQL transaction
 * can do (the floors, scripts/bench/floors.ts)?
 *
 * For each database (SQLite always; PostgreSQL and MariaDB when reachable) and size, one template database
 * is generated (test/support/generate.ts); every measurement then runs on a fresh copy of it:
 *   (a) tool --dry-run, (b) tool apply, (c) tool --rollback --yes of that apply   — one copy, in sequence
 *   (d) tool --drop-table --yes --orphans-out FILE                                — its own copy
 *   (e) floor 1, (f) floor 2                                                      — a copy each
 * Tool and floors alternate ((a-c), (e), (d), (f); the floor first in every other repetition), so both
 * see the same machine state. At the smallest size (if ≤ 100,000 rows), the first repetition also checks
 * that floor 1 leaves the workflow table and backups the tool's apply leaves (and floor 2 the same as
 * floor 1, with every step and label row kept). Modules: scripts/bench/*.ts.
 */
import { writeFileSync } from 'node:fs';
import type { Dialect } from '../test/support/databases.js';
import { BenchError, checkInterrupted, interruptedBy, runMain } from './bench/cleanup.js';
import { runFloor } from './bench/floor-run.js';
import { FLOOR, floorVariant } from './bench/floors.js';
import { parseOptions } from './bench/options.js';
import {
  machineLine,
  markdown,
  median,
  medianRep,
  repLine,
  updateReadme,
  README_END,
  README_START,
  type Rep,
  type Result,
} from './bench/report.js';
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
import { checkKeptTables, compareStates, readFloorState, readToolState, type State } from './bench/verify.js';

const USAGE = `usage: npm run bench -- [options]

Times the tool (dry run, apply, rollback, apply --drop-table) against the floors (the same fold as one
set-based SQL transaction) on generated databases, and prints a Markdown table with the targets.

  --sizes N,N,…          step rows per database (default 100000,1000000)
  --reps N               repetitions per size (default 3); medians are reported
  --databases LIST       sqlite,postgres,mysql (default all; a server that is unreachable is skipped)
  --out FILE             also write the Markdown (machine line, table, targets) to FILE
  --update-readme        replace the text between ${README_START} and ${README_END} in README.md
  --help                 this text

Servers: STEPCFG_TEST_PG_URL, STEPCFG_TEST_MYSQL_URL (as for the tests; default the local ones).
STEPCFG_BENCH_BIN=path runs another build of bin/stepcfg-migrate. BENCH_DEBUG=1 adds stack traces.
Floors: ${Object.entries(FLOOR)
  .map(([d, name]) => `${d} ${name}`)
  .join(', ')} (all formulations: node --import tsx scripts/bench/floor-variants.ts).
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

  const smallest = options.sizes[0]!;
  const verifyAt = smallest <= VERIFY_MAX ? smallest : undefined;
  if (verifyAt === undefined)
    console.log(
      `(floors are checked against the tool at the smallest size when it is ≤ ${VERIFY_MAX}: not in this run)`,
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
      console.log(`\nResults before the failure:\n\n${markdown(machine, results, options.reps)}\n`);
    throw error;
  }

  const block = markdown(machine, results, options.reps);
  console.log(`\n${block}`);
  if (options.out) {
    writeFileSync(options.out, `${block}\n`);
    console.log(`\nwrote ${options.out}`);
  }
  if (options.updateReadme) {
    if (updateReadme(block)) console.log('updated README.md');
    else console.log(`README.md has no ${README_START} … ${README_END} markers: not updated`);
  }
});

/** All repetitions of one database and size. */
async function benchmark(dialect: Dialect, steps: number, reps: number, dir: string, verify: boolean): Promise<Result> {
  const label = `${dialect} ${steps}`;
  checkInterrupted();
  const template = await generateTemplate(dialect, steps);
  console.log(`\n${label}: template generated in ${template.seconds.toFixed(1)} s`);
  const floor = floorVariant(dialect);
  const result: Result = { dialect, steps, stepRows: 0, reps: [], peakRssKb: 0 };

  for (let rep = 1; rep <= reps; rep++) {
    const times: Partial<Rep> = {};
    const check = verify && rep === 1;
    const states: { tool?: State; floor1?: State; floor2?: State } = {};
    const prefix = `  rep ${rep}`;

    const tool = async (copy: Copy, mode: ToolMode, key: keyof Rep) => {
      checkInterrupted();
      const run = await runTool(copy, mode, dir);
      times[key] = run.seconds;
      result.peakRssKb = Math.max(result.peakRssKb, run.peakRssKb);
      console.log(
        `${prefix}  tool ${mode.padEnd(9)} ${run.seconds.toFixed(3)} s  (peak RSS ${(run.peakRssKb / 1024).toFixed(0)} MB)`,
      );
      return run;
    };
    const applyDryRunRollback = () =>
      onFreshCopy(template, dir, async (copy) => {
        await tool(copy, 'dry-run', 'dryRun');
        result.stepRows = (await tool(copy, 'apply', 'apply')).stepRows;
        if (check) states.tool = await withSession(copy, (s) => readToolState(s, dialect));
        await tool(copy, 'rollback', 'rollback');
      });
    const drop = () => onFreshCopy(template, dir, (copy) => tool(copy, 'drop', 'drop').then(() => undefined));
    const floor1 = () =>
      onFreshCopy(template, dir, async (copy) => {
        checkInterrupted();
        const run = await runFloor(copy, floor, 'floor1', check ? (s) => readFloorState(s, dialect) : undefined);
        times.floor1 = run.seconds;
        states.floor1 = run.inspected;
        console.log(`${prefix}  floor 1        ${run.seconds.toFixed(3)} s`);
      });
    const floor2 = () =>
      onFreshCopy(template, dir, async (copy) => {
        checkInterrupted();
        const before = check ? await withSession(copy, (s) => countStepsAndLabels(s)) : undefined;
        const run = await runFloor(copy, floor, 'floor2', check ? (s) => readFloorState(s, dialect) : undefined);
        if (before) await withSession(copy, (s) => checkKeptTables(s, dialect, before.steps, before.labels));
        times.floor2 = run.seconds;
        states.floor2 = run.inspected;
        console.log(`${prefix}  floor 2        ${run.seconds.toFixed(3)} s`);
      });

    // Tool and floor alternate; every other repetition the floor goes first.
    for (const [toolStep, floorStep] of [
      [applyDryRunRollback, floor1],
      [drop, floor2],
    ] as const) {
      for (const step of rep % 2 === 1 ? [toolStep, floorStep] : [floorStep, toolStep]) await step();
    }

    if (check) {
      compareStates(dialect, states.tool!, states.floor1!, ['the tool', 'floor 1']);
      compareStates(dialect, states.floor1!, states.floor2!, ['floor 1', 'floor 2']);
      console.log(`floor result equals tool result at ${steps} rows on ${dialect}`);
    }
    result.reps.push(times as Rep);
    console.log(`${label} rep ${rep}: ${repLine(times as Rep)}`);
  }
  console.log(
    `${label} median of ${reps}: ${repLine(medianRep(result.reps))}; apply ${Math.round(result.stepRows / median(result.reps.map((r) => r.apply)))} rows/s; ` +
      `peak RSS of the tool ${(result.peakRssKb / 1024).toFixed(0)} MB`,
  );
  await template.drop();
  return result;
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
