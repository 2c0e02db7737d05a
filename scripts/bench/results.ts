/** What one (database, size) of the benchmark measured, its medians, and how figures are written. */
import type { Dialect } from '../../test/support/databases.js';

/** Seconds of each measurement of one repetition; `peer` is NaN at sizes the peer does not run at. */
export interface Rep {
  dryRun: number;
  apply: number;
  rollback: number;
  drop: number;
  floor1: number;
  floor2: number;
  peer: number;
}

export interface Result {
  dialect: Dialect;
  steps: number;
  /** `summary.stepRows` of the tool's apply report. */
  stepRows: number;
  reps: Rep[];
  /** Highest peak RSS of the tool over all its runs at this size, KB. */
  peakRssKb: number;
  /** Highest peak RSS of the naive peer, KB (NaN when it did not run). */
  peerRssKb: number;
}

/** Every measurement of a repetition, with its name in the per-repetition lines. */
export const MEASURES: Array<[keyof Rep, string]> = [
  ['dryRun', 'dry-run'],
  ['apply', 'apply'],
  ['rollback', 'rollback'],
  ['drop', 'drop'],
  ['floor1', 'floor 1'],
  ['floor2', 'floor 2'],
  ['peer', 'peer'],
];

export const DATABASE_NAMES: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB' };

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function medianRep(reps: Rep[]): Rep {
  return Object.fromEntries(MEASURES.map(([key]) => [key, median(reps.map((r) => r[key]))])) as unknown as Rep;
}

/** A figure that was not measured (NaN) is written as a dash. */
const orDash = (x: number, text: (x: number) => string): string => (Number.isFinite(x) ? text(x) : '–');
export const secs = (s: number): string => orDash(s, (s) => s.toFixed(3));
export const times = (x: number): string => orDash(x, (x) => `${x.toFixed(2)}×`);
export const mb = (kb: number): string => orDash(kb, (kb) => (kb / 1024).toFixed(0));
export const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
