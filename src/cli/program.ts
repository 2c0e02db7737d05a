import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';

/** The flags as commander parses them (each command takes only its own). */
export interface CliOptions {
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
  ifExists?: boolean;
  out?: string;
  plan?: string;
  sqlOut?: string;
}

/** The commands; a command line without one is an apply (or, with --dry-run / --rollback, those). */
export const VERBS = ['plan', 'apply', 'status', 'rollback', 'cleanup', 'runs'] as const;
export type Verb = (typeof VERBS)[number];

/** Every flag once, by the name commander gives its value. */
const FLAGS: Record<string, () => Option> = {
  db: () =>
    new Option(
      '--db <url>',
      'database: file path, sqlite:///, postgresql://, mysql://, mariadb://, with any SQLAlchemy driver ' +
        '(default $STEPCFG_DB_URL, else as the controller finds it: CTRL_CONFIG_PATH, CTRL_DB_PATH, CTRL_ENV_PATH, CTRL_DATA_PATH)',
    ),
  dryRun: () => new Option('-n, --dry-run', 'compute and print the plan in a read-only transaction; write nothing'),
  onConflict: () =>
    new Option('--on-conflict <mode>', 'an item of that name already in the workflow with other content')
      .choices(['fail', 'keep', 'replace'])
      .default('fail'),
  skipInvalid: () =>
    new Option('--skip-invalid', 'report rows that cannot be folded and leave them, instead of stopping'),
  strict: () => new Option('--strict', 'orphans block the run (exit 3)'),
  json: () => new Option('--json', 'print the report as JSON on stdout (the human report goes to stderr)'),
  report: () => new Option('--report <file>', 'also write the JSON report to FILE'),
  lockTimeout: () =>
    new Option('--lock-timeout <seconds>', 'how long to wait for a busy database or a connection').default('10'),
  batchSize: () => new Option('--batch-size <n>', 'workflows read per batch').default('500'),
  stepTable: () => new Option('--step-table <name>', 'the step configuration table').default('step_configuration'),
  workflowTable: () => new Option('--workflow-table <name>', 'the workflow table').default('workflow'),
  schema: () => new Option('--schema <name>', 'PostgreSQL schema / MySQL database holding the tables'),
  verbose: () => new Option('-v, --verbose', 'also show each workflow row change'),
  quiet: () =>
    new Option('-q, --quiet', 'print only errors and the reasons a run is blocked (and the JSON with --json)'),
  color: () => new Option('--no-color', 'no colours (also when NO_COLOR is set)'),
  dropTable: () =>
    new Option(
      '--drop-table',
      'after a successful fold, drop step_configuration and its labels table (kept for rollback)',
    ),
  orphansOut: () =>
    new Option(
      '--orphans-out <file>',
      'write every row the fold leaves (orphans, skipped invalid, kept conflicts) with labels to FILE',
    ),
  rollback: () => new Option('--rollback', 'undo the latest applied run (the same as the rollback command)'),
  run: () => new Option('--run <id>', 'the run to undo (an id from the runs command); default: the latest'),
  force: () => new Option('--force', 'restore workflows edited since the run, keeping their other edits'),
  yes: () => new Option('-y, --yes', 'answer yes to the question before writing (needed without a terminal)'),
  ifExists: () =>
    new Option(
      '--if-exists',
      'no step table (but a workflow table) is "nothing to migrate", exit 0: for fresh installs',
    ),
  backupFile: () =>
    new Option('--backup-file <path>', 'SQLite: copy the whole database to PATH (online backup) before writing'),
  out: () =>
    new Option('--out <file>', 'with a dry run: write the plan to FILE, to be carried out later with --plan FILE'),
  plan: () =>
    new Option(
      '--plan <file>',
      'carry out the plan in FILE (made with --out) only if the data still gives it; else exit 3',
    ),
  sqlOut: () =>
    new Option(
      '--sql-out <file>',
      "write the plan as a guarded SQL script for the database's own shell (sqlite3, psql, mariadb), for review",
    ),
};

const CONNECTION = ['db', 'lockTimeout', 'stepTable', 'workflowTable', 'schema'];
const OUTPUT = ['json', 'report', 'verbose', 'quiet', 'color'];
const POLICY = ['onConflict', 'skipInvalid', 'strict'];

/** What each command does, which flags it takes, and examples for its help. */
export const COMMAND_HELP: Record<Verb, { summary: string; flags: string[]; examples: string[] }> = {
  plan: {
    summary: 'show what an apply would do, in a read-only transaction; write nothing (alias: --dry-run)',
    flags: [
      ...CONNECTION,
      ...POLICY,
      'dropTable',
      'orphansOut',
      'ifExists',
      'batchSize',
      'dryRun',
      'out',
      'sqlOut',
      ...OUTPUT,
    ],
    examples: [
      'stepcfg-migrate plan --db sqlite:////data/sql.db',
      'stepcfg-migrate plan --db "$URL" --out reviewed.plan',
      'stepcfg-migrate plan --db "$URL" --sql-out fold.sql',
      'stepcfg-migrate plan --db "$URL" --json | jq .summary',
    ],
  },
  apply: {
    summary: 'fold the step rows into their workflows in one transaction, after showing the plan',
    flags: [
      ...CONNECTION,
      ...POLICY,
      'dropTable',
      'orphansOut',
      'ifExists',
      'batchSize',
      'backupFile',
      'yes',
      'dryRun',
      'out',
      'plan',
      'sqlOut',
      ...OUTPUT,
    ],
    examples: [
      'stepcfg-migrate apply --db sqlite:////data/sql.db',
      'stepcfg-migrate apply --db "$URL" --plan reviewed.plan',
      'stepcfg-migrate apply --db "$URL" --drop-table --orphans-out left.json --yes',
    ],
  },
  status: {
    summary: 'check whether anything is left to migrate (for CI: exit 0 up to date, 3 work left); never writes',
    flags: [...CONNECTION, ...POLICY, 'ifExists', 'batchSize', ...OUTPUT],
    examples: ['stepcfg-migrate status --db "$URL"', 'stepcfg-migrate status --db "$URL" --json | jq .status'],
  },
  rollback: {
    summary: 'undo the latest applied run (or --run ID): specs back byte for byte, dropped tables back',
    flags: [...CONNECTION, 'run', 'force', 'dryRun', 'yes', 'backupFile', 'batchSize', 'out', 'plan', ...OUTPUT],
    examples: [
      'stepcfg-migrate rollback --db "$URL" --dry-run',
      'stepcfg-migrate rollback --db "$URL" --dry-run --out undo.plan',
      'stepcfg-migrate rollback --db "$URL" --run 3f2a --yes',
    ],
  },
  cleanup: {
    summary: "remove the tool's own tables (backups, kept tables, run records) once no rollback is wanted",
    flags: [...CONNECTION, 'dryRun', 'yes', 'backupFile', ...OUTPUT],
    examples: ['stepcfg-migrate cleanup --db "$URL" --dry-run', 'stepcfg-migrate cleanup --db "$URL" --yes'],
  },
  runs: {
    summary: "list the runs recorded in the tool's run table; never writes",
    flags: [...CONNECTION, ...OUTPUT],
    examples: ['stepcfg-migrate runs --db "$URL"', 'stepcfg-migrate runs --db "$URL" --json | jq ".runs[0]"'],
  },
};

/** The flags of a command line without a command: every form that worked before commands existed. */
const LEGACY_FLAGS = [...new Set([...COMMAND_HELP.apply.flags, 'rollback', 'run', 'force'])];

const EXIT_CODES =
  '\nExit codes: 0 done / plan goes through / nothing left; 1 runtime error, nothing changed;\n' +
  '2 usage error; 3 blocked, refused or cancelled (conflicts, invalid rows, orphans under --strict,\n' +
  'status with work left, "n" at the question); 4 another run holds the lock; 130/143 interrupted.';

/** The tool's version, from its package.json. */
export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Whether a flag (by its value's name) is one that the command takes. */
export function takesFlag(verb: Verb | undefined, key: string): boolean {
  return (verb === undefined ? LEGACY_FLAGS : COMMAND_HELP[verb].flags).includes(key);
}

/** The flags that take a value, spelled as on the command line, to find the command among the words. */
export const VALUE_FLAGS = new Set(
  Object.values(FLAGS)
    .map((f) => f())
    .filter((o) => o.required || o.optional)
    .map((o) => o.long as string),
);

/** The command line of one command (or of none: the forms that worked before commands), with its help. */
export function buildProgram(verb?: Verb): Command {
  const name = verb ? `stepcfg-migrate ${verb}` : 'stepcfg-migrate';
  const program = new Command(name).exitOverride().showSuggestionAfterError(true).helpOption('-h, --help');
  program.description(
    verb
      ? COMMAND_HELP[verb].summary
      : 'Fold genai-factory step_configuration rows into workflow.spec.step_configurations.',
  );
  if (!verb) program.version(toolVersion(), '-V, --version').usage('[command] [options]');
  for (const key of verb ? COMMAND_HELP[verb].flags : LEGACY_FLAGS) program.addOption(FLAGS[key]!());
  const examples = verb ? COMMAND_HELP[verb].examples.map((e) => `  $ ${e}`).join('\n') : undefined;
  if (!verb) program.addHelpText('before', commandList());
  program.addHelpText('after', `${examples ? `\nExamples:\n${examples}\n` : ''}${EXIT_CODES}`);
  return program;
}

/** The commands, for the top-level help; without a command the tool applies. */
function commandList(): string {
  const width = Math.max(...VERBS.map((v) => v.length));
  const lines = VERBS.map((v) => `  ${v.padEnd(width)}  ${COMMAND_HELP[v].summary}`);
  return (
    `Commands (stepcfg-migrate help COMMAND, or COMMAND --help, for its options and examples):\n${lines.join('\n')}\n\n` +
    'Without a command it applies; the options below are those of that form (--dry-run plans, --rollback rolls back).\n'
  );
}

/** Whether a command takes a flag, as spelled on the command line (`--force`, `-y`). */
export function commandHasFlag(verb: Verb, spelled: string): boolean {
  return COMMAND_HELP[verb].flags.some((key) => {
    const option = FLAGS[key]!();
    return option.long === spelled || option.short === spelled;
  });
}
