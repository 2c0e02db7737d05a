import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';

/** The flags as commander parses them. */
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
}

/** The tool's version, from its package.json. */
export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command line: every flag with its help, exit codes after them. */
export function buildProgram(): Command {
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
      'database: file path, sqlite:///, postgresql://, mysql://, mariadb://, with any SQLAlchemy driver ' +
        '(default $STEPCFG_DB_URL, else as the controller finds it: CTRL_CONFIG_PATH, CTRL_DB_PATH, CTRL_ENV_PATH, CTRL_DATA_PATH)',
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
