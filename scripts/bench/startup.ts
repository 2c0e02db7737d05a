/**
 * Start-up: how long the tool takes to answer when it has next to nothing to do, against Node.js
 * itself doing nothing (`node -e 0`). The commands run in turn, round after round, after one round
 * that is not counted, so that all of them see the same machine state; medians are reported. Up to
 * RUNS rounds, but no new round after BUDGET_SECONDS once MIN_RUNS are counted: a slow start-up must
 * not make the benchmark's first step long.
 */
import { line } from './checks.js';
import { BenchError } from './cleanup.js';
import { runNode } from './child.js';
import { median, secs, times } from './results.js';
import { BIN } from './tool.js';

const RUNS = 15;
const MIN_RUNS = 5;
const BUDGET_SECONDS = 4;
/** Each command of the tool may take at most this many times `node -e 0`. */
const LIMIT = 2.5;

/** The first command is the reference. `status` on the sample database exits 3: it has rows left to migrate. */
const COMMANDS: Array<{ label: string; short: string; args: string[]; codes: number[] }> = [
  { label: 'node -e 0', short: 'node -e 0', args: ['-e', '0'], codes: [0] },
  { label: 'stepcfg-migrate --version', short: '--version', args: [BIN, '--version'], codes: [0] },
  { label: 'stepcfg-migrate --help', short: '--help', args: [BIN, '--help'], codes: [0] },
  {
    label: 'stepcfg-migrate status --db sqlite:///fixtures/sample.db',
    short: 'status',
    args: [BIN, 'status', '--db', 'sqlite:///fixtures/sample.db'],
    codes: [0, 3],
  },
];

export interface Startup {
  runs: number;
  /** Median wall seconds per command, in COMMANDS' order. */
  medians: Array<{ label: string; short: string; seconds: number }>;
}

export async function measureStartup(): Promise<Startup> {
  const seconds: number[][] = COMMANDS.map(() => []);
  let counting = 0;
  for (let round = 0; round <= RUNS; round++) {
    if (round === 1) counting = performance.now();
    if (round > MIN_RUNS && performance.now() - counting > BUDGET_SECONDS * 1000) break;
    for (const [i, command] of COMMANDS.entries()) {
      const exited = await runNode(command.args);
      if (exited.code === null || !command.codes.includes(exited.code)) {
        throw new BenchError(
          `${command.label} exited with ${exited.signal ?? exited.code} (expected ${command.codes.join(' or ')})` +
            (exited.stderr.trim() ? `\n  its stderr:\n${exited.stderr.trimEnd().replace(/^/gm, '    ')}` : ''),
        );
      }
      if (round > 0) seconds[i]!.push(exited.seconds);
    }
  }
  const medians = COMMANDS.map(({ label, short }, i) => ({ label, short, seconds: median(seconds[i]!) }));
  return { runs: seconds[0]!.length, medians };
}

/** One line for the console: every median, and each command's ratio to `node -e 0`. */
export function startupLine(startup: Startup): string {
  const [reference, ...tool] = startup.medians;
  const ratios = tool.map((m) => `${m.short} ${secs(m.seconds)} s (${times(m.seconds / reference!.seconds)})`);
  return `start-up, median of ${startup.runs}: ${reference!.label} ${secs(reference!.seconds)} s; ${ratios.join('; ')}`;
}

/** The Markdown: a table of medians and ratios, then the target as a ✓/✗ line. */
export function startupMarkdown(startup: Startup): string[] {
  const [reference, ...tool] = startup.medians;
  const ratio = (seconds: number) => seconds / reference!.seconds;
  const rows = startup.medians.map((m) => `| \`${m.label}\` | ${secs(m.seconds)} | ${times(ratio(m.seconds))} |`);
  const values = tool.map((m) => ({
    ok: ratio(m.seconds) <= LIMIT,
    text: `${m.short} ${times(ratio(m.seconds))}`,
  }));
  return [
    `Start-up: median wall time of ${startup.runs} runs of each command, run in turn.`,
    '',
    '| command | s | × node -e 0 |',
    '| --- | ---: | ---: |',
    ...rows,
    '',
    line(`start-up ≤ ${LIMIT}× \`node -e 0\``, values),
  ];
}
