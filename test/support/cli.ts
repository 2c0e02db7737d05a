import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { parseReport, type ReportJson } from './report.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the JSON report (for --json runs). */
  json: () => ReportJson;
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const result = (code: number, stdout: string, stderr: string): CliResult => ({
  code,
  stdout,
  stderr,
  json: () => parseReport(stdout),
});

/** Runs the CLI in this process (same code path as the bin), with its own streams and environment. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const out = capture();
  const err = capture();
  const code = await main({ argv: args, env: { ...env }, stdout: out.stream, stderr: err.stream });
  return result(code, out.text(), err.text());
}

export const BIN = fileURLToPath(new URL('../../bin/stepcfg-migrate', import.meta.url));

/** Runs the real installed command in a child process (needs `npm run build`). */
export function runBin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve(result(code ?? -1, Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8'))),
    );
  });
}
