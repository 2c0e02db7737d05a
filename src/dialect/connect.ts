import { redact, type DatabaseTarget } from '../config/db-url.js';
import { ToolError } from '../errors.js';
import type { DialectAdapter } from './adapter.js';
import type { Trace } from './types.js';

/** How to open a database: the mode, the waits, and who is asking. */
export interface OpenOptions {
  readOnly: boolean;
  /** How long to wait for a busy database or a connection, in milliseconds. */
  timeoutMs: number;
  /** Who is connecting, shown by the server to others (PostgreSQL application_name). */
  label: string;
  /** Called with each statement as it is sent. */
  trace?: Trace;
}

/** Opens the adapter for a target; a failure becomes one line naming the database (no password). */
export async function openAdapter(target: DatabaseTarget, options: OpenOptions): Promise<DialectAdapter> {
  // A URL the operator did not type: the error says where it came from.
  const from = target.source === '--db' ? '' : ` (from ${target.source})`;
  // Each dialect (its driver, and knex where it builds SQL) is loaded only when it is opened: a run
  // on SQLite does not wait for the PostgreSQL and MySQL drivers to load, nor the reverse.
  if (target.dialect === 'sqlite') {
    const { openSqlite } = await import('./sqlite/index.js');
    try {
      return await openSqlite(target.file, {
        readOnly: options.readOnly,
        busyTimeoutMs: options.timeoutMs,
        trace: options.trace,
      });
    } catch (e) {
      if (from === '' || !(e instanceof ToolError)) throw e;
      throw new ToolError(e.message + from, e.exitCode, { cause: e });
    }
  }
  const server = { ...target, connectTimeoutMs: options.timeoutMs, label: options.label };
  const [open, describe] =
    target.dialect === 'postgres'
      ? await import('./postgres/index.js').then((m) => [m.openPostgres, m.describePostgresError] as const)
      : await import('./mysql/index.js').then((m) => [m.openMysql, m.describeMysqlError] as const);
  try {
    return await open(server, options.trace);
  } catch (e) {
    const line = describe(e) ?? (e as Error).message;
    throw new ToolError(redact(`${line} [${target.display}]${from}`, secretsOf(target)), 1, { cause: e });
  }
}

/** Every secret that must never be printed (the CLI adds the drivers' password variables). */
export function secretsOf(target: DatabaseTarget): string[] {
  return target.secrets;
}
