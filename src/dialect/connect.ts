import { redact, type DatabaseTarget } from '../config/db-url.js';
import { ToolError } from '../errors.js';
import type { DialectAdapter } from './adapter.js';
import { MysqlAdapter } from './mysql.js';
import { describePostgresError, PostgresAdapter } from './postgres.js';
import { SqliteAdapter } from './sqlite.js';

export interface OpenOptions {
  readOnly: boolean;
  /** How long to wait for a busy database or a connection, in milliseconds. */
  timeoutMs: number;
  /** Who is connecting, shown by the server to others (PostgreSQL application_name). */
  label: string;
}

/** Opens the adapter for a target; a failure becomes one line naming the database (no password). */
export async function openAdapter(target: DatabaseTarget, options: OpenOptions): Promise<DialectAdapter> {
  if (target.dialect === 'sqlite') {
    return SqliteAdapter.open(target.file, { readOnly: options.readOnly, busyTimeoutMs: options.timeoutMs });
  }
  const server = { ...target, connectTimeoutMs: options.timeoutMs, label: options.label };
  try {
    return target.dialect === 'postgres' ? await PostgresAdapter.open(server) : await MysqlAdapter.open(server);
  } catch (e) {
    const line =
      (target.dialect === 'postgres' ? describePostgresError(e) : MysqlAdapter.prototype.describeError.call(null, e)) ??
      (e as Error).message;
    throw new ToolError(redact(`${line} [${target.display}]`, secretsOf(target)), 1, { cause: e });
  }
}

/** Every secret that must never be printed (the CLI adds the drivers' password variables). */
export function secretsOf(target: DatabaseTarget): string[] {
  return target.secrets;
}
