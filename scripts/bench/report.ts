/** The benchmark's report: per-repetition lines, the machine line, the Markdown block (table, targets, start-up), its file. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dialect } from '../../test/support/databases.js';
import { checkLines, SMALL_STEPS } from './checks.js';
import { ROOT } from './child.js';
import { DATABASE_NAMES, MEASURES, mb, medianRep, secs, thousands, times, type Rep, type Result } from './results.js';
import { startupMarkdown, type Startup } from './startup.js';

/** The ratio columns of the table and the per-repetition lines: one measurement's median over another's. */
const RATIOS: Array<{ label: string; of: keyof Rep; to: keyof Rep }> = [
  { label: 'apply/floor1', of: 'apply', to: 'floor1' },
  { label: 'tool/peer', of: 'apply', to: 'peer' },
  { label: 'drop/floor2', of: 'drop', to: 'floor2' },
  { label: 'dry-run/floor1', of: 'dryRun', to: 'floor1' },
  { label: 'rollback/floor1', of: 'rollback', to: 'floor1' },
];

/** One line: every measurement's seconds, then the ratios (a measurement not made is left out). */
export function repLine(rep: Rep): string {
  const measured = MEASURES.filter(([key]) => Number.isFinite(rep[key]))
    .map(([key, label]) => `${label} ${secs(rep[key])} s`)
    .join(', ');
  const ratios = RATIOS.filter((r) => Number.isFinite(rep[r.of] / rep[r.to]))
    .map((r) => `${r.label} ${times(rep[r.of] / rep[r.to])}`)
    .join(', ');
  return `${measured} | ${ratios}`;
}

/** "AMD EPYC, 2 cores, 23.5 GiB RAM; Node v20…; SQLite …; PostgreSQL …; MariaDB …; stepcfg-migrate 0.1.0 @ abc1234; 2025-…". */
export function machineLine(versions: Partial<Record<Dialect, string>>): string {
  const cpuinfo = (() => {
    try {
      return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  })();
  const cpu = (cpuinfo ?? os.cpus()[0]?.model ?? 'unknown CPU').trim();
  const memory = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
  const servers = (['sqlite', 'postgres', 'mysql'] as const).map((d) => versions[d] ?? `${DATABASE_NAMES[d]} not run`);
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  return `Machine: ${cpu}, ${os.cpus().length} cores, ${memory}; Node ${process.version}; ${servers.join('; ')}; ${toolVersion()}; ${date}`;
}

/** "stepcfg-migrate 0.1.0 @ 93c6519 (+ uncommitted changes in src/)", or the STEPCFG_BENCH_BIN it ran. */
function toolVersion(): string {
  if (process.env.STEPCFG_BENCH_BIN) return `stepcfg-migrate from STEPCFG_BENCH_BIN=${process.env.STEPCFG_BENCH_BIN}`;
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin') !== '';
    return `stepcfg-migrate ${version} @ ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (+ uncommitted changes in src/)' : ''}`;
  } catch {
    return `stepcfg-migrate ${version}`;
  }
}

/** The Markdown block: machine line, one table row per (database, size) of medians, the targets as ✓/✗ lines, start-up. */
export function markdown(machine: string, results: Result[], repsCount: number, startup?: Startup): string {
  const header = [
    ...['database', 'step rows', 'dry-run s', 'apply s', 'drop s', 'rollback s', 'floor 1 s', 'floor 2 s', 'peer s'],
    ...[
      'apply rows/s',
      ...RATIOS.map((q) => q.label),
      'peak RSS MB',
      `RSS vs ${thousands(SMALL_STEPS)}`,
      'peer RSS MB',
    ],
  ];
  const rows = results.map((r) => {
    const m = medianRep(r.reps);
    const small = results.find((s) => s.dialect === r.dialect && s.steps === SMALL_STEPS)?.peakRssKb;
    return [
      DATABASE_NAMES[r.dialect],
      thousands(r.steps),
      ...[m.dryRun, m.apply, m.drop, m.rollback, m.floor1, m.floor2, m.peer].map(secs),
      thousands(r.stepRows / m.apply),
      ...RATIOS.map((q) => times(m[q.of] / m[q.to])),
      mb(r.peakRssKb),
      r.steps > SMALL_STEPS && small ? times(r.peakRssKb / small) : '–',
      mb(r.peerRssKb),
    ];
  });
  const table = [header, header.map((_, i) => (i < 1 ? '---' : '---:')), ...rows].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  return [
    machine,
    '',
    `Median of ${repsCount} repetition${repsCount === 1 ? '' : 's'}, each measurement on a fresh copy of a database made by ` +
      '`generateDatabase` (test/support/generate.ts). Tool and peer times are wall times of the whole process ' +
      '(the tool with `--quiet`; the peer is scripts/bench/peer.mjs, the fold written naively with knex); ' +
      'floors are single set-based SQL transactions (scripts/bench/floors.ts), SQL time only. ' +
      "Peak RSS is the tool's (or the peer's) own process.",
    '',
    ...table,
    '',
    ...checkLines(results),
    ...(startup ? ['', ...startupMarkdown(startup)] : []),
  ].join('\n');
}

export const TABLE_START = '<!-- bench:start -->';
export const TABLE_END = '<!-- bench:end -->';

/** Where the table is kept. */
export const TABLE_FILE = 'docs/benchmark.md';

/** Replaces the text between the markers in TABLE_FILE; returns false (nothing written) when they are missing. */
export function updateTableFile(block: string, file = path.join(ROOT, TABLE_FILE)): boolean {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END, start + TABLE_START.length);
  if (start < 0 || end < 0) return false;
  writeFileSync(file, `${text.slice(0, start + TABLE_START.length)}\n${block}\n${text.slice(end)}`);
  return true;
}
