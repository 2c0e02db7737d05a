import { Chalk, supportsColor, supportsColorStderr } from 'chalk';
import { reportJson, type Mode, type Report } from '../migrate/report.js';
import { WholeFile } from '../migrate/whole-file.js';
import type { CliOptions } from './program.js';
import { humanChunks, verdict } from './render.js';

/** A stream the CLI writes to; a terminal gets colours. */
export type OutStream = NodeJS.WritableStream & { isTTY?: boolean };

/** Where the CLI's output goes, and how it is coloured. */
export interface Output {
  stdout: OutStream;
  stderr: OutStream;
  noColor: boolean;
}

/** A chalk for a stream: colours only on a terminal, and never with --no-color or NO_COLOR. */
export function chalkFor(out: Output, stream: OutStream): InstanceType<typeof Chalk> {
  const support = stream === out.stderr ? supportsColorStderr : supportsColor;
  const level = !out.noColor && stream.isTTY ? ((support ? support.level : 0) as 0 | 1 | 2 | 3) : 0;
  return new Chalk({ level });
}

/** Prints one error line on stderr. */
export function errorLine(out: Output, message: string): void {
  out.stderr.write(`${chalkFor(out, out.stderr).red('stepcfg-migrate: error:')} ${message}\n`);
}

/**
 * Writes the report file whole or not at all (temporary file, then rename). The run's outcome
 * stands whatever happens here: a failure is said, not turned into another exit code.
 */
export function writeReportFile(out: Output, file: string, json: string | Iterable<string>): void {
  let whole: WholeFile | undefined;
  try {
    whole = new WholeFile(file);
    for (const chunk of typeof json === 'string' ? [json] : json) whole.write(chunk);
    whole.commit(true);
  } catch (e) {
    whole?.abandon();
    errorLine(out, `the run's outcome stands, but its report could not be written to ${file}: ${(e as Error).message}`);
  }
}

/** The report: JSON on stdout with --json (the human one then on stderr), to --report, human otherwise. */
export function emitReport(out: Output, report: Report, options: CliOptions): void {
  if (options.report) writeReportFile(out, options.report, reportJson(report));
  if (options.json) for (const chunk of reportJson(report)) out.stdout.write(chunk);
  // Why a run was blocked, refused or cancelled is said on stderr, also under --quiet: stdout
  // carries the report alone.
  const refusal = ['blocked', 'work-left', 'cancelled'].includes(report.outcome);
  const stream = options.json ? out.stderr : out.stdout;
  // A run cancelled at the question has shown its plan already.
  if (!options.quiet && report.outcome !== 'cancelled') {
    const verdictHere = !refusal || stream === out.stderr;
    const human = { verbose: !!options.verbose, chalk: chalkFor(out, stream), verdict: verdictHere };
    for (const chunk of humanChunks(report, human)) stream.write(chunk);
  }
  if (refusal && (options.quiet || stream === out.stdout)) {
    out.stderr.write(`${verdict(report, chalkFor(out, out.stderr))}\n`);
  }
}

/** An error as JSON, on stdout with --json and into the --report file, for scripts that read either. */
export function emitErrorJson(
  out: Output,
  options: Pick<CliOptions, 'json' | 'report'> | undefined,
  mode: Mode,
  error: { message: string; exitCode: number },
): void {
  if (!options?.json && !options?.report) return;
  const json = JSON.stringify({ reportVersion: 1, mode, error }, null, 2) + '\n';
  if (options.json) out.stdout.write(json);
  if (options.report) writeReportFile(out, options.report, json);
}
