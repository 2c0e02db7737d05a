/** Runs the tool (`bin/stepcfg-migrate`, built into dist/) as a child process and measures it. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchError, trackChild } from './cleanup.js';
import { describeCopy, type Copy } from './targets.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The tool's command: bin/stepcfg-migrate of this checkout, or STEPCFG_BENCH_BIN (another build of it). */
const BIN = process.env.STEPCFG_BENCH_BIN
  ? path.resolve(process.env.STEPCFG_BENCH_BIN)
  : path.join(ROOT, 'bin', 'stepcfg-migrate');
const PRELOAD = pathToFileURL(fileURLToPath(new URL('./peak-rss.mjs', import.meta.url))).href;

export type ToolMode = 'dry-run' | 'apply' | 'rollback' | 'drop';

export interface ToolRun {
  seconds: number;
  /** Peak resident set size of the tool's process, KB. */
  peakRssKb: number;
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
  const rssFile = path.join(dir, `${id}.rss`);
  const orphansFile = path.join(dir, `${id}.orphans.json`);
  const modeArgs = {
    'dry-run': ['--dry-run'],
    apply: [],
    rollback: ['--rollback', '--yes'],
    drop: ['--drop-table', '--yes', '--orphans-out', orphansFile],
  }[mode];
  const args = ['--import', PRELOAD, BIN, '--db', copy.url, '--quiet', '--report', reportFile, ...modeArgs];
  try {
    const started = performance.now();
    const { code, signal, stderr } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, STEPCFG_BENCH_RSS_FILE: rssFile },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      trackChild(child);
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stderr }));
    });
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) {
      const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
      throw new BenchError(
        `the tool's ${mode} on ${describeCopy(copy)} ${how} (expected 0)\n` +
          `  command: node ${args.slice(2).join(' ')}\n` +
          (stderr.trim() ? `  its stderr:\n${stderr.trimEnd().replace(/^/gm, '    ')}` : '  its stderr was empty'),
      );
    }
    if (!existsSync(rssFile)) throw new BenchError(`the tool's ${mode} left no peak RSS figure (${rssFile})`);
    const peakRssKb = Number(readFileSync(rssFile, 'utf8'));
    let report: { summary?: { stepRows?: unknown } };
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8')) as typeof report;
    } catch (error) {
      throw new BenchError(`the tool's ${mode} wrote no readable --report file: ${(error as Error).message}`);
    }
    const stepRows = Number(report.summary?.stepRows);
    if (!Number.isFinite(stepRows)) throw new BenchError(`the tool's ${mode} report has no summary.stepRows`);
    return { seconds, peakRssKb, stepRows };
  } finally {
    for (const file of [reportFile, rssFile, orphansFile]) rmSync(file, { force: true });
  }
}
