import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Chalk, supportsColor, supportsColorStderr } from 'chalk';
import { Command, CommanderError, Option } from 'commander';
import { defaultDatabaseUrl, parseDatabaseUrl, redact } from '../config/db-url.js';
import { capabilitiesOf } from '../dialect/capabilities.js';
import { ExitCode, ToolError, usageError, type ExitCodeValue } from '../errors.js';
import { Interrupted, runMigration, type RunRequest } from '../migrate/run.js';
import { reportJson, type Mode, type Report } from '../migrate/report.js';
import { renderHuman } from './render.js';
import { startProgress } from './progress.js';
import { sqlLog } from './sql-log.js';

/** The streams and environment the CLI talks to; tests pass their own. */
export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where a confirmation is read from; absent or not a terminal means nobody can answer. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborted with the signal's name (SIGINT, SIGTERM) when the operator stops the run. */
  signal?: AbortSignal;
}

interface CliOptions {
  db?: string;
  dryRun?: boolean;
  onConflict: 'fail' | 'keep' | 'replace';
  skipInvalid?: boolean;
  strict?: boolean;
  json?: boolean;
  report?: string;
  lockTimeout: string;
  batchSize: string;
  verbose?: boolean;
  quiet?: boolean;
  color: boolean;
  stepTable: string;
  workflowTable: string;
  schema?: string;
  dropTable?: boolean;
  orphansOut?: string;
  rollback?: boolean;
  run?: string;
  force?: boolean;
  yes?: boolean;
  backupFile?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function buildProgram(): Command {
  const program = new Command('stepcfg-migrate')
    .description(
      'Fold genai-factory step_configuration rows into workflow.spec.step_configurations.\n' +
        'Without a command it applies the migration; "status" checks what is left (for CI).',
    )
    .argument(
      '[command]',
      '"status" to check whether anything is left to migrate; "cleanup" to remove the tool\'s own tables',
    )
    .version(toolVersion(), '-V, --version')
    .option(
      '--db <url>',
      'database: file path, sqlite:///, postgresql://, mysql://, mariadb:// (default $STEPCFG_DB_URL, then $CTRL_DB_PATH)',
    )
    .option('--dry-run', 'compute and print the plan in a read-only transaction; write nothing')
    .addOption(
      new Option('--on-conflict <mode>', 'an item of that name already in the workflow with other content')
        .choices(['fail', 'keep', 'replace'])
        .default('fail'),
    )
    .option('--skip-invalid', 'report rows that cannot be folded and leave them, instead of stopping')
    .option('--strict', 'orphans block the run (exit 3)')
    .option('--json', 'print the report as JSON on stdout (the human report goes to stderr)')
    .option('--report <file>', 'also write the JSON report to FILE')
    .option('--lock-timeout <seconds>', 'how long to wait for a busy database or a connection', '10')
    .option('--batch-size <n>', 'workflows read per batch', '500')
    .option('--step-table <name>', 'the step configuration table', 'step_configuration')
    .option('--workflow-table <name>', 'the workflow table', 'workflow')
    .option('--schema <name>', 'PostgreSQL schema / MySQL database holding the tables')
    .option('--verbose', 'also show each workflow row change')
    .option('--quiet', 'print errors only (and the JSON report with --json)')
    .option('--no-color', 'no colours (also when NO_COLOR is set)')
    .option(
      '--drop-table',
      'after a successful fold, drop step_configuration and its labels table (kept for --rollback)',
    )
    .option(
      '--orphans-out <file>',
      'write every row the fold leaves (orphans, skipped invalid, kept conflicts) with labels to FILE',
    )
    .option('--rollback', 'undo the latest applied run (or --run ID)')
    .option('--run <id>', 'with --rollback: the run to undo (an id from status)')
    .option('--force', 'with --rollback: restore workflows edited since the run, keeping their other edits')
    .option('--yes', 'confirm --drop-table, --rollback and cleanup without a prompt (needed without a terminal)')
    .option('--backup-file <path>', 'SQLite: copy the whole database to PATH (online backup) before writing')
    .addHelpText(
      'after',
      '\nExit codes: 0 done / plan goes through / nothing left; 1 runtime error, nothing changed;\n' +
        '2 usage error; 3 blocked (conflicts, invalid rows, orphans under --strict, status with work left);\n' +
        '4 another run holds the lock.',
    )
    .exitOverride()
    .showSuggestionAfterError(true);
  return program;
}

function positiveNumber(value: string, flag: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw usageError(`${flag} takes a positive ${integer ? 'whole ' : ''}number, not "${value}"`);
  }
  return n;
}

/** Turns parsed flags into a run request, refusing every bad or conflicting combination at once. */
function toRequest(
  command: string | undefined,
  o: CliOptions,
  given: (key: string) => boolean,
  env: NodeJS.ProcessEnv,
  version: string,
): Omit<RunRequest, 'confirm' | 'origin'> {
  const problems: string[] = [];
  const refuse = (message: string) => problems.push(message);
  if (command !== undefined && command !== 'status' && command !== 'cleanup') {
    // Never echo what may be a URL with a password in it.
    const shown = command.includes('://') || command.includes('@') ? 'given' : `"${command}"`;
    refuse(`unknown command ${shown} (commands: status, cleanup; apply needs none; the database goes with --db)`);
  }
  const mode: Mode =
    command === 'status'
      ? 'status'
      : command === 'cleanup'
        ? 'cleanup'
        : o.rollback
          ? 'rollback'
          : o.dryRun
            ? 'dry-run'
            : 'apply';
  const foldFlags = (['onConflict', 'skipInvalid', 'strict', 'dropTable', 'orphansOut'] as const).filter(given);
  const flag = (key: string) => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  if (mode === 'status' && o.dryRun) refuse('status never writes: drop --dry-run');
  if (mode === 'status' && (given('onConflict') || given('skipInvalid') || given('dropTable') || given('orphansOut'))) {
    refuse(
      'status checks every row strictly: --on-conflict, --skip-invalid, --drop-table and --orphans-out do not apply',
    );
  }
  if ((mode === 'rollback' || mode === 'cleanup') && foldFlags.length > 0) {
    refuse(
      `${foldFlags.map(flag).join(', ')} belong to the fold, not to ${mode === 'rollback' ? '--rollback' : 'cleanup'}`,
    );
  }
  if (mode !== 'rollback' && (o.run !== undefined || o.force)) refuse('--run and --force go with --rollback');
  if (command !== undefined && o.rollback) refuse(`--rollback cannot be combined with the ${command} command`);
  if (o.quiet && o.verbose) refuse('--quiet and --verbose contradict each other: choose one');
  for (const [name, value] of [
    ['--step-table', o.stepTable],
    ['--workflow-table', o.workflowTable],
    ['--schema', o.schema],
  ] as const) {
    if (value !== undefined && !IDENTIFIER.test(value)) {
      refuse(`${name} must be a plain SQL name (letters, digits, _), not ${JSON.stringify(value)}`);
    }
  }
  if (o.stepTable === o.workflowTable) refuse('--step-table and --workflow-table name the same table');
  for (const [name, file, mayExist] of [
    ['--report', o.report, true],
    ['--orphans-out', o.orphansOut, false],
    ['--backup-file', o.backupFile, false],
  ] as const) {
    const problem = file === undefined ? undefined : outputFileProblem(name, file, mayExist);
    if (problem) refuse(problem);
  }
  if (o.backupFile !== undefined && (mode === 'dry-run' || mode === 'status' || o.dryRun))
    refuse('--backup-file is for runs that write');
  const url = o.db ?? defaultDatabaseUrl(env);
  if (url === undefined) refuse('no database given: pass --db URL, or set STEPCFG_DB_URL or CTRL_DB_PATH');
  let target;
  try {
    target = url === undefined ? undefined : parseDatabaseUrl(url);
  } catch (e) {
    refuse((e as Error).message);
  }
  if (target && !capabilitiesOf(target.dialect).hasSchemas && o.schema !== undefined && o.schema !== 'main') {
    refuse('--schema applies to PostgreSQL and MySQL; a SQLite file has only "main"');
  }
  if (target && !capabilitiesOf(target.dialect).fileBackup && o.backupFile !== undefined)
    refuse('--backup-file works with SQLite only');
  let lockTimeoutMs = 0;
  let batchSize = 0;
  try {
    lockTimeoutMs = positiveNumber(o.lockTimeout, '--lock-timeout', false) * 1000;
    batchSize = positiveNumber(o.batchSize, '--batch-size', true);
  } catch (e) {
    refuse((e as Error).message);
  }
  if (problems.length > 0 || target === undefined) throw usageError(problems.join('; '));
  return {
    mode,
    dryRun: !!o.dryRun,
    target,
    tables: {
      schema: capabilitiesOf(target.dialect).hasSchemas ? o.schema : undefined,
      step: o.stepTable,
      workflow: o.workflowTable,
    },
    plan: {
      onConflict: o.onConflict,
      skipInvalid: !!o.skipInvalid,
      strict: !!o.strict,
      // Only a report or --verbose shows the list of workflow rows; otherwise their count is enough.
      listWorkflows: !!(o.json || o.report || o.verbose),
    },
    lockTimeoutMs,
    batchSize,
    toolVersion: version,
    dropTable: !!o.dropTable,
    orphansOut: o.orphansOut === undefined ? undefined : resolve(o.orphansOut),
    runId: o.run,
    force: !!o.force,
    backupFile: o.backupFile === undefined ? undefined : resolve(o.backupFile),
  };
}

/** Why an output file cannot be written (a directory, a missing or read-only folder, already there). */
function outputFileProblem(flag: string, file: string, mayExist: boolean): string | undefined {
  const path = resolve(file);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) return `${flag} ${file} is a directory`;
    if (!mayExist) return `${flag} ${file} already exists; it is never overwritten`;
  }
  try {
    if (!statSync(dirname(path)).isDirectory()) return `${flag} ${file}: ${dirname(path)} is not a directory`;
    accessSync(dirname(path), constants.W_OK);
  } catch {
    return `${flag} ${file}: cannot write into ${dirname(path)}`;
  }
  return undefined;
}

/**
 * Writes the report file whole or not at all (temporary file, then rename). The run's outcome
 * stands whatever happens here: a failure is said, not turned into another exit code.
 */
function writeReportFile(file: string, json: string | Iterable<string>, fail: (message: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      for (const chunk of typeof json === 'string' ? [json] : json) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    fail(`the run's outcome stands, but its report could not be written to ${file}: ${(e as Error).message}`);
  }
}

/** The whole command line: parse, run, print, and return the exit code. Never throws. */
export async function main(io: Io): Promise<ExitCodeValue> {
  const program = buildProgram();
  const errorLines: string[] = [];
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => errorLines.push(s),
    outputError: (s) => errorLines.push(s),
  });
  const noColor = io.argv.includes('--no-color') || (io.env.NO_COLOR ?? '') !== '';
  const colorFor = (stream: Io['stdout'], level: number | undefined) =>
    new Chalk({ level: !noColor && stream.isTTY ? ((level ?? 0) as 0 | 1 | 2 | 3) : 0 });
  const errChalk = colorFor(io.stderr, supportsColorStderr ? supportsColorStderr.level : 0);
  const fail = (message: string) => io.stderr.write(`${errChalk.red('stepcfg-migrate: error:')} ${message}\n`);

  let options: CliOptions | undefined;
  let mode: Mode = 'apply';
  let secrets: string[] = [];
  try {
    program.parse(io.argv, { from: 'user' });
    options = program.opts<CliOptions>();
    const version = toolVersion();
    const given = (key: string) => ['cli', 'env'].includes(program.getOptionValueSource(key) ?? '');
    const request = toRequest(program.args[0], options, given, io.env, version);
    mode = request.mode;
    request.target.secrets.push(...[io.env.PGPASSWORD, io.env.MYSQL_PWD].filter((p): p is string => !!p));
    secrets = request.target.secrets;
    const progress = options.quiet ? undefined : startProgress(io.stderr, !noColor);
    const confirm = confirmer(!!options.yes, io, () => progress?.stop());
    let outcome;
    try {
      outcome = await runMigration({
        ...request,
        confirm,
        origin: { host: hostname(), pid: process.pid, alive: processAlive },
        signal: io.signal,
        progress: progress?.update,
        trace: sqlLog(io.env.STEPCFG_SQL_LOG),
      });
    } finally {
      progress?.stop();
    }
    emit(outcome.report, options, io, colorFor, fail);
    if (io.signal?.aborted) {
      fail(`${String(io.signal.reason)} arrived after the run had finished: what the report says was done stands`);
      return signalExitCode(io.signal);
    }
    return outcome.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0)
        return ExitCode.ok;
      fail(
        errorLines
          .join('')
          .replace(/^error:\s*/i, '')
          .trim() || e.message,
      );
      return ExitCode.usage;
    }
    const aborted = (e as Error)?.name === 'AbortError'; // Ctrl-C at a confirmation prompt
    if ((e instanceof Interrupted && io.signal?.aborted) || aborted) {
      const signal = String(io.signal?.reason ?? 'SIGINT');
      fail(
        e instanceof Interrupted && e.afterCommit
          ? `interrupted by ${signal} after part of the run had committed (MySQL/MariaDB: the fold before its drop, or a rollback's tables); run the same command again to finish it`
          : `interrupted by ${signal}: the connection was closed, so the database rolled the transaction back; nothing was written`,
      );
      return signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sigint;
    }
    const error =
      e instanceof ToolError
        ? e
        : new ToolError(`unexpected error: ${(e as Error)?.message ?? String(e)}`, ExitCode.runtime, { cause: e });
    const message = redact(error.message, secrets);
    fail(message);
    if (io.env.STEPCFG_DEBUG && error.cause)
      io.stderr.write(`${redact(String((error.cause as Error).stack), secrets)}\n`);
    if (options?.json || options?.report) {
      const json =
        JSON.stringify({ reportVersion: 1, mode, error: { message, exitCode: error.exitCode } }, null, 2) + '\n';
      if (options.json) io.stdout.write(json);
      if (options.report) writeReportFile(options.report, json, fail);
    }
    return error.exitCode;
  }
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

/**
 * How destructive steps are confirmed: `--yes`, or a question on a terminal; without either the
 * answer is no, and the run is refused (exit 3) rather than left waiting for input that never comes.
 */
function confirmer(yes: boolean, io: Io, beforeAsking: () => void): (question: string) => Promise<boolean> {
  return async (question) => {
    if (yes) return true;
    if (!io.stdin?.isTTY || !io.stderr.isTTY) return false;
    beforeAsking();
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `, io.signal ? { signal: io.signal } : {});
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}

function emit(
  report: Report,
  options: CliOptions,
  io: Io,
  colorFor: (stream: Io['stdout'], level: number | undefined) => InstanceType<typeof Chalk>,
  fail: (message: string) => void,
): void {
  if (options.report) writeReportFile(options.report, reportJson(report), fail);
  if (options.json) for (const chunk of reportJson(report)) io.stdout.write(chunk);
  if (options.quiet) return;
  const stream = options.json ? io.stderr : io.stdout;
  const level = stream === io.stderr ? supportsColorStderr : supportsColor;
  stream.write(renderHuman(report, { verbose: !!options.verbose, chalk: colorFor(stream, level ? level.level : 0) }));
}
