import { readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Chalk, supportsColor, supportsColorStderr } from 'chalk';
import { Command, CommanderError, Option } from 'commander';
import { defaultDatabaseUrl, parseDatabaseUrl, redact } from '../config/db-url.js';
import { ExitCode, ToolError, usageError, type ExitCodeValue } from '../errors.js';
import { runMigration, type RunRequest } from '../migrate/run.js';
import type { Mode, Report } from '../migrate/report.js';
import { renderHuman } from './render.js';
import { startProgress } from './progress.js';

/** The streams and environment the CLI talks to; tests pass their own. */
export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
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
  [later: string]: unknown;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Flags of the destructive modes (SPEC 3) that this version refuses rather than ignores. */
const NOT_YET = ['dropTable', 'orphansOut', 'rollback', 'run', 'force', 'yes', 'backupFile'];

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
    .argument('[command]', '"status" to check whether anything is left to migrate')
    .version(toolVersion(), '-V, --version')
    .option('--db <url>', 'database: file path, sqlite:///, postgresql://, mysql://, mariadb:// (default $STEPCFG_DB_URL, then $CTRL_DB_PATH)')
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
    .addOption(new Option('--drop-table').hideHelp())
    .addOption(new Option('--orphans-out <file>').hideHelp())
    .addOption(new Option('--rollback').hideHelp())
    .addOption(new Option('--run <id>').hideHelp())
    .addOption(new Option('--force').hideHelp())
    .addOption(new Option('--yes').hideHelp())
    .addOption(new Option('--backup-file <path>').hideHelp())
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

/** Turns parsed flags into a run request, refusing every bad or conflicting combination. */
function toRequest(command: string | undefined, o: CliOptions, env: NodeJS.ProcessEnv, version: string): RunRequest {
  if (command !== undefined && command !== 'status') {
    throw usageError(`unknown command "${command}" (the only command is "status"; apply needs none)`);
  }
  for (const key of NOT_YET) {
    if (o[key] !== undefined) {
      const flag = '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      throw usageError(`${flag} is not available in this version (${version}) yet; nothing was done`);
    }
  }
  const mode: Mode = command === 'status' ? 'status' : o.dryRun ? 'dry-run' : 'apply';
  if (mode === 'status' && o.dryRun) throw usageError('status never writes: drop --dry-run');
  if (o.quiet && o.verbose) throw usageError('--quiet and --verbose contradict each other: choose one');
  for (const [flag, value] of [
    ['--step-table', o.stepTable],
    ['--workflow-table', o.workflowTable],
    ['--schema', o.schema],
  ] as const) {
    if (value !== undefined && !IDENTIFIER.test(value)) {
      throw usageError(`${flag} must be a plain SQL name (letters, digits, _), not ${JSON.stringify(value)}`);
    }
  }
  if (o.stepTable === o.workflowTable) throw usageError('--step-table and --workflow-table name the same table');
  if (o.report !== undefined) checkReportPath(o.report);
  const url = o.db ?? defaultDatabaseUrl(env);
  if (url === undefined) throw usageError('no database given: pass --db URL, or set STEPCFG_DB_URL or CTRL_DB_PATH');
  const target = parseDatabaseUrl(url);
  if (target.dialect === 'sqlite' && o.schema !== undefined && o.schema !== 'main') {
    throw usageError('--schema applies to PostgreSQL and MySQL; a SQLite file has only "main"');
  }
  return {
    mode,
    target,
    tables: { schema: target.dialect === 'sqlite' ? undefined : o.schema, step: o.stepTable, workflow: o.workflowTable },
    plan: { onConflict: o.onConflict, skipInvalid: !!o.skipInvalid, strict: !!o.strict },
    lockTimeoutMs: positiveNumber(o.lockTimeout, '--lock-timeout', false) * 1000,
    batchSize: positiveNumber(o.batchSize, '--batch-size', true),
    toolVersion: version,
  };
}

function checkReportPath(file: string): void {
  const path = resolve(file);
  try {
    if (statSync(path).isDirectory()) throw usageError(`--report ${file} is a directory`);
  } catch (e) {
    if (e instanceof ToolError) throw e;
  }
  try {
    if (!statSync(dirname(path)).isDirectory()) throw new Error();
  } catch {
    throw usageError(`--report ${file}: the directory ${dirname(path)} does not exist`);
  }
}

/** Writes the report file whole or not at all (temporary file, then rename). */
function writeReportFile(file: string, json: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, json, { mode: 0o600 });
  renameSync(tmp, file);
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
    const request = toRequest(program.args[0], options, io.env, version);
    mode = request.mode;
    secrets = request.target.secrets;
    const progress = options.quiet ? undefined : startProgress(io.stderr, !noColor);
    let outcome;
    try {
      outcome = await runMigration({ ...request, progress: progress?.update });
    } finally {
      progress?.stop();
    }
    emit(outcome.report, options, io, colorFor);
    return outcome.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return ExitCode.ok;
      fail(errorLines.join('').replace(/^error:\s*/i, '').trim() || e.message);
      return ExitCode.usage;
    }
    const error =
      e instanceof ToolError
        ? e
        : new ToolError(`unexpected error: ${(e as Error)?.message ?? String(e)}`, ExitCode.runtime, { cause: e });
    const message = redact(error.message, secrets);
    fail(message);
    if (io.env.STEPCFG_DEBUG && error.cause) io.stderr.write(`${redact(String((error.cause as Error).stack), secrets)}\n`);
    if (options?.json || options?.report) {
      const json = JSON.stringify({ reportVersion: 1, mode, error: { message, exitCode: error.exitCode } }, null, 2) + '\n';
      if (options.json) io.stdout.write(json);
      if (options.report) writeReportFile(options.report, json);
    }
    return error.exitCode;
  }
}

function emit(
  report: Report,
  options: CliOptions,
  io: Io,
  colorFor: (stream: Io['stdout'], level: number | undefined) => InstanceType<typeof Chalk>,
): void {
  const json = JSON.stringify(report, null, 2) + '\n';
  if (options.report) writeReportFile(options.report, json);
  if (options.json) io.stdout.write(json);
  if (options.quiet) return;
  const stream = options.json ? io.stderr : io.stdout;
  const level = stream === io.stderr ? supportsColorStderr : supportsColor;
  stream.write(renderHuman(report, { verbose: !!options.verbose, chalk: colorFor(stream, level ? level.level : 0) }));
}
