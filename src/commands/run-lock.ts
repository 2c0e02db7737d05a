import type { DialectAdapter } from '../dialect/adapter.js';
import { ExitCode, NOTHING_WRITTEN, ToolError } from '../errors.js';
import { Bookkeeping, type RunRecord } from '../migrate/bookkeeping.js';
import { staleRuns } from '../migrate/run-history.js';
import { schemaOf, type Session } from './context.js';

/**
 * The lock that keeps writing runs on one set of tables apart: named by schema (PostgreSQL) or
 * database (MySQL, whose GET_LOCK names are server-wide) and workflow table.
 */
export async function lockKey(session: Session): Promise<string> {
  return `stepcfg-migrate:${(await schemaOf(session)) ?? ''}.${session.req.tables.workflow}`;
}

/**
 * Takes the run lock, or fails with exit 4 naming the run that holds it. Then records as
 * `interrupted` the runs that died holding it: with the lock taken, no other run is alive (on
 * SQLite, whose lock comes later with the write, those of this host whose process is gone).
 */
export async function takeRunLock(session: Session): Promise<void> {
  const { adapter, req } = session;
  try {
    await adapter.lockRun?.(await lockKey(session), req.lockTimeoutMs);
  } catch (e) {
    if (adapter.isLockTimeout(e)) throw await lockedError(session);
    throw e;
  }
  const book = new Bookkeeping(adapter, await schemaOf(session));
  const stale = staleRuns(await book.listRuns(), req.origin, adapter.lockRun ? true : undefined);
  await book.markInterrupted(stale.map((r) => r.id));
}

/** Whether nobody holds the run lock: undefined where the server cannot say (SQLite's is the file's). */
export async function runLockFree(session: Session): Promise<boolean | undefined> {
  const { adapter } = session;
  if (!adapter.lockHolder) return undefined;
  return (await adapter.lockHolder(await lockKey(session))) === undefined;
}

/**
 * Exit 4, naming who holds the lock: a live run from the run table, else as the server knows it.
 * On SQLite, whose run lock is the file's write lock, a file held by no live run of the tool's is
 * held by some other process (the controller, a `sqlite3` shell), and is named so.
 */
export async function lockedError(session: Session): Promise<ToolError> {
  const { req, adapter } = session;
  await adapter.rollback().catch(() => undefined);
  const run = await liveHolder(session).catch(() => undefined); // who holds it is a courtesy
  const server = await serverLockHolder(adapter, await lockKey(session)).catch(() => undefined);
  const who = [run, server && `the server names ${server}`].filter(Boolean).join('; ');
  const waited = `waited ${req.lockTimeoutMs / 1000} s (--lock-timeout); ${NOTHING_WRITTEN}`;
  if (!adapter.lockRunIsSeparate && !run) {
    return new ToolError(
      `the database file is locked by another process, such as the controller; ${waited}`,
      ExitCode.locked,
    );
  }
  return new ToolError(
    `another stepcfg-migrate run holds the lock${who ? ` (${who})` : ''}; ${waited}`,
    ExitCode.locked,
  );
}

/** The newest `running` record of a run that is still alive (not this one), as one phrase. */
async function liveHolder(session: Session): Promise<string | undefined> {
  const { req, adapter } = session;
  const { host, pid } = req.origin;
  // A `running` record of this host whose process is gone was left by a killed run: not the holder.
  const alive = (r: RunRecord) => r.host !== host || (r.pid !== pid && (req.origin.alive?.(r.pid) ?? true));
  const book = new Bookkeeping(adapter, await schemaOf(session));
  const holder = (await book.runningRecords()).filter(alive).at(-1);
  return holder && `run ${holder.id} on host ${holder.host}, pid ${holder.pid}, started ${holder.startedAt}`;
}

function serverLockHolder(adapter: DialectAdapter, key: string): Promise<string | undefined> {
  return adapter.lockHolder ? adapter.lockHolder(key) : Promise.resolve(undefined);
}
