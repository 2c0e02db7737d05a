import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RunRequest } from '../commands/context.js';
import { findDatabaseUrl } from '../config/db-source.js';
import { parseDatabaseUrl, type DatabaseTarget } from '../config/db-url.js';
import { capabilitiesOf } from '../dialect/capabilities.js';
import { ToolError, usageError } from '../errors.js';
import type { Mode } from '../migrate/report.js';
import type { CliOptions, Verb } from './program.js';

/** A request as the command line gives it; the CLI adds how to confirm and who runs it. */
export type CliRequest = Omit<RunRequest, 'confirm' | 'confirmation' | 'origin'>;

/** What the command line said, as the checks below read it. */
interface Parsed {
  command: Verb | undefined;
  mode: Mode;
  o: CliOptions;
  /** Whether a flag was given (rather than left at its default). */
  given: (key: string) => boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Turns parsed flags into a run request, refusing every bad or conflicting combination at once. */
export function toRequest(
  command: Verb | undefined,
  o: CliOptions,
  given: (key: string) => boolean,
  env: NodeJS.ProcessEnv,
  version: string,
): CliRequest {
  const p: Parsed = { command, mode: modeOf(command, o), o, given };
  const problems = [...commandProblems(p), ...nameProblems(o), ...fileProblems(p)];
  const target = targetOf(o, env, problems);
  if (target) problems.push(...targetProblems(target, o));
  const numbers = numbersOf(o, problems);
  if (problems.length > 0 || target === undefined) throw usageError(problems.join('; '));
  return {
    mode: p.mode,
    dryRun: !!o.dryRun || command === 'plan',
    target,
    tables: {
      schema: schemaFor(target, o),
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
    ...numbers,
    toolVersion: version,
    dropTable: !!o.dropTable,
    orphansOut: o.orphansOut === undefined ? undefined : resolve(o.orphansOut),
    runId: o.run,
    force: !!o.force,
    ifExists: !!o.ifExists,
    backupFile: o.backupFile === undefined ? undefined : resolve(o.backupFile),
    ...planFiles(o, given),
    sqlOut: o.sqlOut === undefined ? undefined : resolve(o.sqlOut),
  };
}

/** The options a plan fixes: given with `--plan`, each must agree with the plan's. */
const PLAN_FIXES = ['onConflict', 'skipInvalid', 'strict', 'dropTable', 'orphansOut', 'ifExists', 'run', 'force'];

/** `--out` (a plan to write) and `--plan` (a reviewed plan to carry out), as paths. */
function planFiles(o: CliOptions, given: (key: string) => boolean): Pick<CliRequest, 'planOut' | 'fromPlan'> {
  return {
    planOut: o.out === undefined ? undefined : resolve(o.out),
    fromPlan: o.plan === undefined ? undefined : { path: resolve(o.plan), given: PLAN_FIXES.filter(given) },
  };
}

/** The report's mode for a command (the forms without one: apply, or --dry-run / --rollback). */
export function modeOf(command: Verb | undefined, o: Pick<CliOptions, 'rollback' | 'dryRun'>): Mode {
  if (command === 'status' || command === 'cleanup' || command === 'runs' || command === 'rollback') return command;
  if (command === 'plan') return 'dry-run';
  return o.rollback ? 'rollback' : o.dryRun ? 'dry-run' : 'apply';
}

const flagName = (key: string) => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** The command and the flags that do not go with it. */
function commandProblems({ command, mode, o, given }: Parsed): string[] {
  const problems: string[] = [];
  const foldFlags = (['onConflict', 'skipInvalid', 'strict', 'dropTable', 'orphansOut'] as const).filter(given);
  if (mode === 'status' && o.dryRun) problems.push('status never writes: drop --dry-run');
  // Status judges by the apply's policy (--strict, --skip-invalid, --on-conflict); it writes nothing.
  if (mode === 'status' && (given('dropTable') || given('orphansOut'))) {
    problems.push('status never writes: --drop-table and --orphans-out do not apply');
  }
  if ((mode === 'rollback' || mode === 'cleanup') && o.ifExists) {
    problems.push('--if-exists goes with a dry run, an apply or status');
  }
  if ((mode === 'rollback' || mode === 'cleanup') && foldFlags.length > 0) {
    const owner = mode === 'rollback' ? '--rollback' : 'cleanup';
    problems.push(`${foldFlags.map(flagName).join(', ')} belong to the fold, not to ${owner}`);
  }
  if (mode !== 'rollback' && (o.run !== undefined || o.force)) problems.push('--run and --force go with --rollback');
  if (command !== undefined && o.rollback) problems.push(`--rollback cannot be combined with the ${command} command`);
  if (o.quiet && o.verbose) problems.push('--quiet and --verbose contradict each other: choose one');
  const dryRun = !!o.dryRun || command === 'plan';
  if (o.out !== undefined && !dryRun)
    problems.push('--out writes a plan: it goes with plan, --dry-run or rollback --dry-run');
  if (o.plan !== undefined && dryRun) problems.push('--plan carries out a reviewed plan: drop --dry-run');
  return problems;
}

/** Table and schema names: plain SQL names, and two different tables. */
function nameProblems(o: CliOptions): string[] {
  const problems: string[] = [];
  for (const [name, value] of [
    ['--step-table', o.stepTable],
    ['--workflow-table', o.workflowTable],
    ['--schema', o.schema],
  ] as const) {
    if (value !== undefined && !IDENTIFIER.test(value)) {
      problems.push(`${name} must be a plain SQL name (letters, digits, _), not ${JSON.stringify(value)}`);
    }
  }
  if (o.stepTable === o.workflowTable) problems.push('--step-table and --workflow-table name the same table');
  return problems;
}

/** The files the run would write: each one writable, and only for runs that write. */
function fileProblems({ mode, o }: Parsed): string[] {
  const problems: string[] = [];
  for (const [name, file, mayExist] of [
    ['--report', o.report, true],
    ['--orphans-out', o.orphansOut, false],
    ['--backup-file', o.backupFile, false],
    ['--out', o.out, true],
    ['--sql-out', o.sqlOut, false],
  ] as const) {
    const problem = file === undefined ? undefined : outputFileProblem(name, file, mayExist);
    if (problem) problems.push(problem);
  }
  if (o.out !== undefined && o.sqlOut !== undefined) problems.push('--out and --sql-out: write one of them per plan');
  if (o.backupFile !== undefined && (mode === 'dry-run' || mode === 'status' || o.dryRun)) {
    problems.push('--backup-file is for runs that write');
  }
  if (o.sqlOut !== undefined) problems.push(...sqlOutProblems(mode, o));
  return problems;
}

/**
 * `--sql-out` writes a plan's script: it goes with a dry run. A script cannot drop the tables
 * with the guarantees of an apply (their rows exported, the tables kept for rollback).
 */
function sqlOutProblems(mode: Mode, o: CliOptions): string[] {
  if (mode !== 'dry-run') return ['--sql-out goes with plan (or --dry-run): it writes the plan as a script'];
  if (o.dropTable)
    return ['--sql-out cannot drop tables: apply with --drop-table after the script, or without a script'];
  return [];
}

/** The database: `--db`, else as the controller finds it; a problem is added to `problems`. */
function targetOf(o: CliOptions, env: NodeJS.ProcessEnv, problems: string[]): DatabaseTarget | undefined {
  try {
    const { url, source } = o.db !== undefined ? { url: o.db, source: '--db' } : findDatabaseUrl(env);
    return parseDatabaseUrl(url, source);
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    problems.push(e.message);
    return undefined;
  }
}

/** Flags that the database at hand cannot honour. */
function targetProblems(target: DatabaseTarget, o: CliOptions): string[] {
  const problems: string[] = [];
  const can = capabilitiesOf(target.dialect);
  if (!can.hasSchemas && o.schema !== undefined && o.schema !== 'main') {
    problems.push('--schema applies to PostgreSQL and MySQL; a SQLite file has only "main"');
  }
  if (!can.fileBackup && o.backupFile !== undefined) problems.push('--backup-file works with SQLite only');
  return problems;
}

/** `--schema`, where the database has schemas (a SQLite file has only its own). */
function schemaFor(target: DatabaseTarget, o: CliOptions): string | undefined {
  return capabilitiesOf(target.dialect).hasSchemas ? o.schema : undefined;
}

/**
 * The longest `--lock-timeout`, in seconds: a day. Every database takes it (PostgreSQL's
 * lock_timeout and better-sqlite3's busy timeout stop at 2^31 - 1 ms, about 24 days), and a run
 * that waits longer for a lock is stuck, not patient.
 */
const MAX_LOCK_TIMEOUT = 86_400;

/** `--lock-timeout` (seconds, to milliseconds) and `--batch-size`; a problem is added to `problems`. */
function numbersOf(o: CliOptions, problems: string[]): { lockTimeoutMs: number; batchSize: number } {
  try {
    const seconds = positiveNumber(o.lockTimeout, '--lock-timeout', false);
    if (seconds > MAX_LOCK_TIMEOUT) {
      throw usageError(`--lock-timeout takes at most ${MAX_LOCK_TIMEOUT} seconds (a day), not "${o.lockTimeout}"`);
    }
    const lockTimeoutMs = seconds * 1000;
    return { lockTimeoutMs, batchSize: positiveNumber(o.batchSize ?? '500', '--batch-size', true) };
  } catch (e) {
    problems.push((e as Error).message);
    return { lockTimeoutMs: 0, batchSize: 0 };
  }
}

function positiveNumber(value: string, flag: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw usageError(`${flag} takes a positive ${integer ? 'whole ' : ''}number, not "${value}"`);
  }
  return n;
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
