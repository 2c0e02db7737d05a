/**
 * The targets printed under the table, one row of {@link CHECKS} each: a limit on one figure of a
 * database's results (a ratio of medians, the tool's peak RSS, its growth), at 1,000,000 step rows
 * unless the row says otherwise.
 */
import type { Dialect } from '../../test/support/databases.js';
import { DATABASE_NAMES, medianRep, thousands, times, type Rep, type Result } from './results.js';

/** The size the targets are for. */
export const TARGET_STEPS = 1_000_000;
/** The size memory growth is measured from. */
export const SMALL_STEPS = 100_000;

type Figure = (result: Result, all: Result[]) => number | undefined;

interface Check {
  databases: readonly Dialect[];
  target: string;
  figure: Figure;
  limit: number;
  /** At TARGET_STEPS, at every size measured, or at each database's largest size. */
  at: 'target' | 'every' | 'largest';
  /** The figure must be below the limit, not just at most. */
  below?: boolean;
  show?: (value: number) => string;
}

/** How a measurement is named in a target. */
const NAMES: Record<keyof Rep, string> = {
  dryRun: 'dry run',
  apply: 'apply',
  rollback: 'rollback',
  drop: 'apply --drop-table',
  floor1: 'floor 1',
  floor2: 'floor 2',
  peer: 'the naive peer',
};

/** "`of` ≤ limit× `to`": the median seconds of one measurement over another's. */
function ratio(
  databases: readonly Dialect[],
  of: keyof Rep,
  limit: number,
  to: keyof Rep,
  at: Check['at'] = 'target',
): Check {
  const figure: Figure = (r) => {
    const m = medianRep(r.reps);
    const value = m[of] / m[to];
    return Number.isFinite(value) ? value : undefined;
  };
  return { databases, target: `${NAMES[of]} ≤ ${limit.toFixed(1)}× ${NAMES[to]}`, figure, limit, at };
}

/** Peak RSS over the same database's peak RSS at SMALL_STEPS. */
const rssGrowth: Figure = (r, all) => {
  const small = all.find((s) => s.dialect === r.dialect && s.steps === SMALL_STEPS);
  return small && r.steps > SMALL_STEPS ? r.peakRssKb / small.peakRssKb : undefined;
};

const ALL: readonly Dialect[] = ['sqlite', 'postgres', 'mysql'];
const SQLITE: readonly Dialect[] = ['sqlite'];

export const CHECKS: readonly Check[] = [
  ratio(SQLITE, 'apply', 2.0, 'floor1'),
  ratio(SQLITE, 'drop', 2.0, 'floor2'),
  ratio(SQLITE, 'dryRun', 1.2, 'floor1'),
  ratio(SQLITE, 'rollback', 1.2, 'floor1'),
  ratio(SQLITE, 'apply', 0.5, 'peer', 'every'),
  ratio(['postgres'], 'apply', 1.3, 'floor1'),
  ratio(['mysql'], 'apply', 1.2, 'floor1'),
  ratio(['postgres', 'mysql'], 'apply', 0.6, 'peer'),
  {
    databases: ALL,
    target: 'peak RSS < 300 MB',
    figure: (r) => r.peakRssKb / 1024,
    limit: 300,
    below: true,
    at: 'target',
    show: (mb) => `${mb.toFixed(0)} MB`,
  },
  {
    databases: ALL,
    target: `peak RSS ≤ 1.5× the ${thousands(SMALL_STEPS)} figure`,
    figure: rssGrowth,
    limit: 1.5,
    at: 'largest',
  },
];

const SCOPES = {
  target: ` at ${thousands(TARGET_STEPS)} rows`,
  every: ' at every size',
  largest: ' at the largest size',
};

/** One line per check: ✓ every value meets it, ✗ one does not, – nothing to judge (and why). */
export function checkLines(results: Result[]): string[] {
  return CHECKS.map((check) => {
    const own = results.filter((r) => check.databases.includes(r.dialect));
    const largest = (r: Result) =>
      r.steps === Math.max(...own.filter((o) => o.dialect === r.dialect).map((o) => o.steps));
    const judged = own.filter((r) =>
      check.at === 'every' ? true : check.at === 'target' ? r.steps === TARGET_STEPS : largest(r),
    );
    const show = check.show ?? times;
    const valued = (rs: Result[]) =>
      rs.flatMap((r) => {
        const value = check.figure(r, results);
        if (value === undefined) return [];
        const ok = check.below ? value < check.limit : value <= check.limit;
        return [{ ok, text: `${DATABASE_NAMES[r.dialect]} ${thousands(r.steps)} ${show(value)}` }];
      });
    const values = valued(judged);
    const names = check.databases.map((d) => DATABASE_NAMES[d]).join(', ');
    let missing = `${names} not run`;
    if (own.length > 0 && check.at === 'largest') missing = `needs --sizes ${SMALL_STEPS},N with N > ${SMALL_STEPS}`;
    if (own.length > 0 && check.at === 'target') {
      const elsewhere = valued(own).map((v) => v.text);
      missing = [`needs --sizes …,${TARGET_STEPS}`, ...elsewhere].join('; ');
    }
    return line(`${names}: ${check.target}${SCOPES[check.at]}`, values, missing);
  });
}

/** "✓ target: a, b" when every value meets it, "✗ target: a ✓, b ✗" otherwise, "– target: not measured" without values. */
export function line(target: string, values: Array<{ ok: boolean; text: string }>, missing = 'not measured'): string {
  if (values.length === 0) return `- – ${target}: not measured (${missing})`;
  const all = values.every((v) => v.ok);
  return `- ${all ? '✓' : '✗'} ${target}: ${values.map((v) => (all ? v.text : `${v.text} ${v.ok ? '✓' : '✗'}`)).join(', ')}`;
}
