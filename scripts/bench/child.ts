/** Runs a Node.js process the benchmark measures (the tool, the naive peer, a start-up command) and times it. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchError, trackChild } from './cleanup.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRELOAD = pathToFileURL(fileURLToPath(new URL('./peak-rss.mjs', import.meta.url))).href;

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Wall time from spawn to exit. */
  seconds: number;
}

/** `node ARGS…` from the checkout's root, stdout ignored, stderr kept; wall time measured around the process. */
export async function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Exited> {
  const started = performance.now();
  const exited = await new Promise<Omit<Exited, 'seconds'>>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    trackChild(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { ...exited, seconds: (performance.now() - started) / 1000 };
}

export interface Measured {
  seconds: number;
  /** Peak resident set size of the process, KB. */
  peakRssKb: number;
}

let sequence = 0;

/**
 * `node --import peak-rss.mjs ARGS…`: its wall time and its own peak RSS (written by the preload at exit).
 * `what` names it in the error raised unless it exits 0 ("the tool's apply on …").
 */
export async function runMeasured(what: string, args: string[], dir: string): Promise<Measured> {
  const rssFile = path.join(dir, `${++sequence}.rss`);
  const all = ['--import', PRELOAD, ...args];
  try {
    const { code, signal, stderr, seconds } = await runNode(all, { ...process.env, STEPCFG_BENCH_RSS_FILE: rssFile });
    if (code !== 0) {
      const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
      throw new BenchError(
        `${what} ${how} (expected 0)\n  command: node ${args.join(' ')}\n` +
          (stderr.trim() ? `  its stderr:\n${stderr.trimEnd().replace(/^/gm, '    ')}` : '  its stderr was empty'),
      );
    }
    if (!existsSync(rssFile)) throw new BenchError(`${what} left no peak RSS figure (${rssFile})`);
    return { seconds, peakRssKb: Number(readFileSync(rssFile, 'utf8')) };
  } finally {
    rmSync(rssFile, { force: true });
  }
}
