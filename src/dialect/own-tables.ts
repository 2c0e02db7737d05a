import type { Knex } from 'knex';

/** Every table of the tool's own starts with this; nothing else in the database is the tool's. */
export const TOOL_PREFIX = 'stepcfg_migrate_';
/** The record of every run (see `Bookkeeping`). */
export const RUNS_TABLE = `${TOOL_PREFIX}runs`;
/** The original specs a run replaced, for `--rollback`. */
export const BACKUPS_TABLE = `${TOOL_PREFIX}spec_backups`;
/** The session's temporary table that holds the specs of an apply until its plan is complete. */
export const STAGE_TABLE = `${TOOL_PREFIX}stage`;

/** The backups table's columns, in the order the stage's write fills them. */
export const BACKUP_COLUMNS = ['run_id', 'workflow_uid', 'workflow_version', 'original_spec', 'written_hash'] as const;
/** The stage's columns (all text), in the order its inserts fill them. */
export const STAGE_COLUMNS = ['uid', 'version', 'spec', 'hash'] as const;

/** The columns of {@link RUNS_TABLE}. */
export function defineRunsTable(t: Knex.CreateTableBuilder): void {
  t.string('id', 36).primary();
  t.string('mode', 16).notNullable();
  t.string('status', 16).notNullable();
  t.string('started_at', 32).notNullable();
  t.string('finished_at', 32);
  t.string('host', 255);
  t.integer('pid');
  t.string('tool_version', 32);
  t.string('step_table', 64);
  t.string('workflow_table', 64);
  t.text('options');
  t.text('summary');
  t.integer('table_dropped').notNullable().defaultTo(0);
  t.string('kept_step_table', 64);
  t.string('kept_labels_table', 64);
  t.text('restore_ddl', 'longtext');
  t.string('rolled_back_by', 36);
  t.string('rolled_back_at', 32);
}

/** The columns of {@link BACKUPS_TABLE}: one row per workflow row a run wrote. */
export function defineBackupsTable(t: Knex.CreateTableBuilder): void {
  const [runId, uid, version, original, hash] = BACKUP_COLUMNS;
  t.string(runId, 36).notNullable();
  t.string(uid, 255).notNullable();
  t.string(version, 255).notNullable();
  t.text(original, 'longtext');
  t.string(hash, 64).notNullable();
  t.primary([runId, uid, version]);
}
