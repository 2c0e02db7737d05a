/** The benchmark's numbers: per-repetition lines, medians, the Markdown table, the targets, the README block. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dialect } from '../../test/support/databases.js';
import { ROOT } from './tool.js';

/** Seconds of each measurement of one repetition. */
export interface Rep {
  dryRun: number;
  apply: number;
  rollback: number;
  drop: number;
  floor1: number;
  floor2: number;
}

export interface Result {
  dialect: Dialect;
  steps: number;
  /** `summary.stepRows` of the tool's apply report. */
  stepRows: number;
  reps: Rep[];
  /** Highest peak RSS of the tool over all its runs at this size, KB. */
  peakRssKb: number;
}

const MEASURES: Array<[keyof Rep, string]> = [
  ['dryRun', 'dry-run'],
  ['apply', 'apply'],
  ['rollback', 'rollback'],
  ['drop', 'drop'],
  ['floor1', 'floor 1'],
  ['floor2', 'floor 2'],
];

/** The speed targets the README table reports: tool time / reference time at most `limit`. */
const RATIOS: Array<{ label: string; target: string; of: keyof Rep; to: keyof Rep; limit: number }> = [
  { label: 'apply/floor1', target: 'apply ≤ 1.2× floor 1', of: 'apply', to: 'floor1', limit: 1.2 },
  { label: 'drop/floor2', target: 'drop ≤ 1.2× floor 2', of: 'drop', to: 'floor2', limit: 1.2 },
  { label: 'rollback/floor1', target: 'rollback ≤ 1.2× floor 1', of: 'rollback', to: 'floor1', limit: 1.2 },
  { label: 'dry-run/apply', target: 'dry-run ≤ 0.6× apply', of: 'dryRun', to: 'apply', limit: 0.6 },
];
const RSS_SMALL = 100_000;
const RSS_LARGE = 1_000_000;
const RSS_GROWTH_LIMIT = 1.5;
const RSS_LIMIT_MB = 300;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function medianRep(reps: Rep[]): Rep {
  return Object.fromEntries(MEASURES.map(([key]) => [key, median(reps.map((r) => r[key]))])) as unknown as Rep;
}

const secs = (s: number): string => s.toFixed(3);
const times = (x: number): string => `${x.toFixed(2)}×`;
const mb = (kb: number): number => kb / 1024;
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One line: every measurement's seconds, then the ratios. */
export function repLine(rep: Rep): string {
  const measured = MEASURES.map(([key, label]) => `${label} ${secs(rep[key])} s`).join(', ');
  const ratios = RATIOS.map((r) => `${r.label} ${times(rep[r.of] / rep[r.to])}`).join(', ');
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
  const servers = (['sqlite', 'postgres', 'mysql'] as const).map(
    (d) => versions[d] ?? `${{ sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB' }[d]} not run`,
  );
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

const DATABASE_NAMES: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB' };

function rssAt(results: Result[], dialect: Dialect, steps: number): number | undefined {
  return results.find((r) => r.dialect === dialect && r.steps === steps)?.peakRssKb;
}

/** The Markdown block: machine line, one table row per (database, size) of medians, then the targets as ✓/✗ lines. */
export function markdown(machine: string, results: Result[], repsCount: number): string {
  const header = [
    'database',
    'step rows',
    'dry-run s',
    'apply s',
    'drop s',
    'rollback s',
    'floor 1 s',
    'floor 2 s',
    'apply rows/s',
    'apply/floor1',
    'drop/floor2',
    'rollback/floor1',
    'dry-run/apply',
    'peak RSS MB',
    `RSS vs ${thousands(RSS_SMALL)}`,
  ];
  const rows = results.map((r) => {
    const m = medianRep(r.reps);
    const small = rssAt(results, r.dialect, RSS_SMALL);
    const growth = r.steps > RSS_SMALL && small ? times(r.peakRssKb / small) : '–';
    return [
      DATABASE_NAMES[r.dialect],
      thousands(r.steps),
      secs(m.dryRun),
      secs(m.apply),
      secs(m.drop),
      secs(m.rollback),
      secs(m.floor1),
      secs(m.floor2),
      thousands(r.stepRows / m.apply),
      ...RATIOS.map((q) => times(m[q.of] / m[q.to])),
      mb(r.peakRssKb).toFixed(0),
      growth,
    ];
  });
  const table = [header, header.map((_, i) => (i < 1 ? '---' : '---:')), ...rows].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  return [
    machine,
    '',
    `Median of ${repsCount} repetition${repsCount === 1 ? '' : 's'}, each measurement on a fresh copy of a database made by ` +
      '`generateDatabase` (test/support/generate.ts). Tool times are wall times of the whole process (`--quiet`); ' +
      'floors are single set-based SQL transactions (scripts/bench/floors.ts), SQL time only.',
    '',
    ...table,
    '',
    ...targetLines(results),
  ].join('\n');
}

function targetLines(results: Result[]): string[] {
  const lines: string[] = [];
  const where = (r: Result) => `${DATABASE_NAMES[r.dialect]} ${thousands(r.steps)}`;
  for (const q of RATIOS) {
    const values = results.map((r) => {
      const m = medianRep(r.reps);
      const ratio = m[q.of] / m[q.to];
      return { ok: ratio <= q.limit, text: `${where(r)} ${times(ratio)}` };
    });
    lines.push(line(q.target, values));
  }
  const large = results.filter((r) => r.steps === RSS_LARGE);
  const growth = large.flatMap((r) => {
    const small = rssAt(results, r.dialect, RSS_SMALL);
    return small
      ? [
          {
            ok: r.peakRssKb <= RSS_GROWTH_LIMIT * small,
            text: `${DATABASE_NAMES[r.dialect]} ${times(r.peakRssKb / small)}`,
          },
        ]
      : [];
  });
  lines.push(
    line(
      `peak RSS at ${thousands(RSS_LARGE)} ≤ ${RSS_GROWTH_LIMIT}× peak RSS at ${thousands(RSS_SMALL)}`,
      growth,
      `needs --sizes ${RSS_SMALL},${RSS_LARGE}`,
    ),
  );
  lines.push(
    line(
      `peak RSS at ${thousands(RSS_LARGE)} < ${RSS_LIMIT_MB} MB`,
      large.map((r) => ({
        ok: mb(r.peakRssKb) < RSS_LIMIT_MB,
        text: `${DATABASE_NAMES[r.dialect]} ${mb(r.peakRssKb).toFixed(0)} MB`,
      })),
      `needs --sizes …,${RSS_LARGE}`,
    ),
  );
  return lines;
}

/** "✓ target: a, b" when every value meets it, "✗ target: a ✓, b ✗" otherwise, "– target: not measured" without values. */
function line(target: string, values: Array<{ ok: boolean; text: string }>, missing = 'not measured'): string {
  if (values.length === 0) return `- – ${target}: not measured (${missing})`;
  const all = values.every((v) => v.ok);
  return `- ${all ? '✓' : '✗'} ${target}: ${values.map((v) => (all ? v.text : `${v.text} ${v.ok ? '✓' : '✗'}`)).join(', ')}`;
}

export const README_START = '<!-- bench:start -->';
export const README_END = '<!-- bench:end -->';

/** Replaces the text between the markers in README.md; returns false (nothing written) when they are missing. */
export function updateReadme(block: string, file = path.join(ROOT, 'README.md')): boolean {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END, start + README_START.length);
  if (start < 0 || end < 0) return false;
  writeFileSync(file, `${text.slice(0, start + README_START.length)}\n${block}\n${text.slice(end)}`);
  return true;
}
