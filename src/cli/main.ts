import { hostname } from 'node:os';
import { CommanderError, type Command } from 'commander';
import { splitCommand, type Split } from './argv.js';
import type { RunRequest, RunResult } from '../commands/context.js';
import { redact } from '../config/db-url.js';
import { ExitCode, Interrupted, NOTHING_WRITTEN, ToolError, usageError, type ExitCodeValue } from '../errors.js';
import type { Mode } from '../migrate/report.js';
import { removeSpillFiles } from '../migrate/spill-list.js';
import { confirmer } from './confirm.js';
import { emitErrorJson, emitReport, errorLine, type OutStream, type Output } from './output.js';
import { buildProgram, commandHasFlag, toolVersion, VERBS, type CliOptions, type Verb } from './program.js';
import { startProgress } from './progress.js';
import { sqlLog } from './sql-log.js';
import { modeOf, toRequest, type CliRequest } from './request.js';

/** The streams and environment the CLI talks to; tests pass their own. */
export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: OutStream;
  stderr: OutStream;
  /** Where a confirmation is read from; absent or not a terminal means nobody can answer. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborted with the signal's name (SIGINT, SIGTERM) when the operator stops the run. */
  signal?: AbortSignal;
}

/** What a failure needs to be reported: the flags and mode as far as they were parsed, the secrets to hide. */
interface Parsed {
  verb?: Verb;
  options?: CliOptions;
  mode: Mode;
  secrets: string[];
}

/** The whole command line: parse, run, print, and return the exit code. Never throws. */
export async function main(io: Io): Promise<ExitCodeValue> {
  const out: Output = {
    stdout: io.stdout,
    stderr: io.stderr,
    noColor: io.argv.includes('--no-color') || (io.env.NO_COLOR ?? '') !== '',
  };
  const errorLines: string[] = [];
  // Spill files of a large report live until the report is printed, and never past the process.
  if (!process.listeners('exit').includes(removeSpillFiles)) process.once('exit', removeSpillFiles);
  const parsed: Parsed = { mode: 'apply', secrets: [] };
  try {
    const split = splitCommand(io.argv);
    if (split.help) return showHelp(split.help.verb, io);
    const request = parse(withOutput(buildProgram(split.verb), io, errorLines), split, io, parsed);
    const outcome = await run(request, parsed.options!, io, out);
    emitReport(out, outcome.report, parsed.options!);
    if (io.signal?.aborted) {
      errorLine(
        out,
        `${String(io.signal.reason)} arrived after the run had finished: what the report says was done stands`,
      );
      return signalExitCode(io.signal);
    }
    return outcome.exitCode;
  } catch (e) {
    if (e instanceof CommanderError && isHelpOrVersion(e)) return ExitCode.ok;
    if (isInterruption(e, io)) return interrupted(e, io, out);
    if (e instanceof CommanderError) return failed(usageOf(e, errorLines, parsed), parsed, io, out);
    return failed(e, parsed, io, out);
  } finally {
    removeSpillFiles();
  }
}

/** Parses the command line into a request; fills `parsed` as far as it gets, for the error report. */
function parse(program: Command, split: Split, io: Io, parsed: Parsed): CliRequest {
  parsed.verb = split.verb;
  // The mode an error report names, before the flags are checked.
  parsed.mode = modeOf(split.verb, {
    dryRun: split.rest.includes('--dry-run'),
    rollback: split.rest.includes('--rollback'),
  });
  program.parse(split.rest, { from: 'user' });
  const options = program.opts<CliOptions>();
  parsed.options = options;
  const given = (key: string) => ['cli', 'env'].includes(program.getOptionValueSource(key) ?? '');
  const request = toRequest(split.verb, options, given, io.env, toolVersion());
  parsed.mode = request.mode;
  request.target.secrets.push(...[io.env.PGPASSWORD, io.env.MYSQL_PWD].filter((p): p is string => !!p));
  parsed.secrets = request.target.secrets;
  return request;
}

/**
 * How writing is approved: --yes, a question on a terminal, or nobody. Without a terminal, what
 * cannot simply be rolled back (a drop, a rollback, a cleanup) is refused before connecting.
 */
function confirmationOf(request: CliRequest, options: CliOptions, io: Io): RunRequest['confirmation'] {
  if (options.yes) return 'yes';
  if (io.stdin?.isTTY && io.stderr.isTTY) return 'ask';
  const { mode, dryRun, dropTable } = request;
  const what =
    mode === 'apply' && dropTable ? '--drop-table' : mode === 'rollback' || mode === 'cleanup' ? mode : undefined;
  if (what && !dryRun) {
    throw new ToolError(
      `${what} needs --yes when there is no terminal to answer its question; ${NOTHING_WRITTEN}`,
      ExitCode.blocked,
    );
  }
  return 'nobody';
}

/** Runs the request with the progress line on stderr (not with --quiet) and the operator's confirmation. */
async function run(request: CliRequest, options: CliOptions, io: Io, out: Output): Promise<RunResult> {
  // A refusal before connecting comes before the progress line: a line left spinning after the
  // error would keep the process from ever ending.
  const confirmation = confirmationOf(request, options, io);
  const progress = options.quiet ? undefined : await startProgress(io.stderr, !out.noColor);
  try {
    const full: RunRequest = {
      ...request,
      confirmation,
      confirm: confirmer(io, out, () => progress?.stop()),
      origin: { host: hostname(), pid: process.pid, alive: processAlive },
      signal: io.signal,
      progress: progress?.update,
      trace: sqlLog(io.env.STEPCFG_SQL_LOG),
    };
    // The commands, the migration and the database layer load here, not for --help or a usage error.
    const { runMigration } = await import('../commands/dispatch.js');
    return await runMigration(full);
  } finally {
    progress?.stop();
  }
}

/** Commander's output: help and version on stdout, its errors kept to be said in one line. */
function withOutput(program: Command, io: Io, errorLines: string[]): Command {
  return program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => errorLines.push(s),
    outputError: (s) => errorLines.push(s),
  });
}

/** `help [command]`: the command's own options and examples (or the list of commands), exit 0. */
function showHelp(verb: Verb | undefined, io: Io): ExitCodeValue {
  withOutput(buildProgram(verb), io, []).outputHelp();
  return ExitCode.ok;
}

function isHelpOrVersion(e: CommanderError): boolean {
  return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0;
}

/** A flag commander refused, as a usage error in one line; a flag of another command says so. */
function usageOf(e: CommanderError, errorLines: string[], parsed: Parsed): ToolError {
  const said = errorLines
    .join('')
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  const flag = /unknown option '(--?[^'=]+)/.exec(said)?.[1];
  const command = parsed.verb ?? 'apply';
  const elsewhere = flag && VERBS.filter((v) => commandHasFlag(v, flag));
  if (flag && elsewhere && elsewhere.length > 0) {
    return usageError(
      `${flag} is not an option of ${command} (it goes with ${elsewhere.join(', ')}); see: stepcfg-migrate help ${command}`,
    );
  }
  return usageError(said || e.message);
}

/** A run stopped by the operator's signal, or Ctrl-C at a confirmation prompt. */
function isInterruption(e: unknown, io: Io): boolean {
  return (e instanceof Interrupted && !!io.signal?.aborted) || (e as Error)?.name === 'AbortError';
}

function interrupted(e: unknown, io: Io, out: Output): ExitCodeValue {
  const signal = String(io.signal?.reason ?? 'SIGINT');
  errorLine(
    out,
    e instanceof Interrupted && e.afterCommit
      ? `interrupted by ${signal} after part of the run had committed (MySQL/MariaDB: the fold before its drop, ` +
          "or a rollback's tables); run the same command again to finish it"
      : `interrupted by ${signal}: the connection was closed, so the database rolled the transaction back; ` +
          ((e instanceof Interrupted && e.left?.outcome) || NOTHING_WRITTEN),
  );
  return signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sigint;
}

/** Any other failure: one line without a password, its exit code, and the JSON error where asked for. */
function failed(e: unknown, parsed: Parsed, io: Io, out: Output): ExitCodeValue {
  const error =
    e instanceof ToolError
      ? e
      : new ToolError(`unexpected error: ${(e as Error)?.message ?? String(e)}`, ExitCode.runtime, { cause: e });
  const message = redact(error.message, parsed.secrets);
  errorLine(out, message);
  if (io.env.STEPCFG_DEBUG && error.cause) {
    io.stderr.write(`${redact(String((error.cause as Error).stack), parsed.secrets)}\n`);
  }
  const options = parsed.options ?? outputFlagsOf(io.argv);
  emitErrorJson(out, options, parsed.mode, { message, exitCode: error.exitCode });
  return error.exitCode;
}

/** `--json` and `--report FILE` read from the words, for an error before the flags could be parsed. */
function outputFlagsOf(argv: string[]): Pick<CliOptions, 'json' | 'report'> {
  const at = argv.indexOf('--report');
  const joined = argv.find((w) => w.startsWith('--report='));
  const report = at >= 0 ? argv[at + 1] : joined?.slice('--report='.length);
  return { json: argv.includes('--json'), report };
}

/** Whether a process of this host runs (a `running` record of a killed run is stale). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** 130 for SIGINT, 143 for SIGTERM: 128 + the signal's number, as shells report it. */
function signalExitCode(signal: AbortSignal): ExitCodeValue {
  return signal.reason === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sigint;
}
