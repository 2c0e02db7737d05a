/** Runs the tool (`bin/stepcfg-migrate`, built into dist/) as a child process and measures it. */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runMeasured, type Measured } from './child.js';
import { BenchError } from './cleanup.js';
import { describeCopy, type Copy } from './targets.js';

/** The tool's command: bin/stepcfg-migrate of this checkout, or STEPCFG_BENCH_BIN (another build of it). */
export const BIN = process.env.STEPCFG_BENCH_BIN
  ? path.resolve(process.env.STEPCFG_BENCH_BIN)
  : path.join(ROOT, 'bin', 'stepcfg-migrate');

export type ToolMode = 'dry-run' | 'apply' | 'rollback' | 'drop';

export interface ToolRun extends Measured {
  /** `summary.stepRows` of its JSON report. */
  stepRows: number;
}

let sequence = 0;

/**
 * Runs one mode on a copy: `node --import peak-rss.mjs bin/stepcfg-migrate --db URL --quiet --report FILE …`.
 * Wall time is measured around the child process (start to exit); exit code 0 is required.
 */
export async function runTool(copy: Copy, mode: ToolMode, dir: string): Promise<ToolRun> {
  const id = `${mode}-${++sequence}`;
  const reportFile = path.join(dir, `${id}.report.json`);
  const orphansFile = path.join(dir, `${id}.orphans.json`);
  const modeArgs = {
    'dry-run': ['--dry-run'],
    apply: [],
    rollback: ['--rollback', '--yes'],
    drop: ['--drop-table', '--yes', '--orphans-out', orphansFile],
  }[mode];
  const args = [BIN, '--db', copy.url, '--quiet', '--report', reportFile, ...modeArgs];
  try {
    const measured = await runMeasured(`the tool's ${mode} on ${describeCopy(copy)}`, args, dir);
    let report: { summary?: { stepRows?: unknown } };
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8')) as typeof report;
    } catch (error) {
      throw new BenchError(`the tool's ${mode} wrote no readable --report file: ${(error as Error).message}`);
    }
    const stepRows = Number(report.summary?.stepRows);
    if (!Number.isFinite(stepRows)) throw new BenchError(`the tool's ${mode} report has no summary.stepRows`);
    return { ...measured, stepRows };
  } finally {
    for (const file of [reportFile, orphansFile]) rmSync(file, { force: true });
  }
}
