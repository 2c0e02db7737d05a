import type { DialectAdapter } from '../dialect/adapter.js';
import { ExitCode, NOTHING_WRITTEN, ToolError } from '../errors.js';
import { Bookkeeping, type RunRecord } from '../migrate/bookkeeping.js';
import { schemaOf, type Session } from './context.js';

/**
 * The lock that keeps writing runs on one set of tables apart: named by schema (PostgreSQL) or
 * database (MySQL, whose GET_LOCK names are server-wide) and workflow table.
 */
async function lockKey(session: Session): Promise<string> {
  return `stepcfg-migrate:${(await schemaOf(session)) ?? ''}.${session.req.tables.workflow}`;
}

/** Takes the run lock, or fails with exit 4 naming the run that holds it. */
export async function takeRunLock(session: Session): Promise<void> {
  try {
    await session.adapter.lockRun?.(await lockKey(session), session.req.lockTimeoutMs);
  } catch (e) {
    if (session.adapter.isLockTimeout(e)) throw await lockedError(session);
    throw e;
  }
}

/** Exit 4, naming the run that holds the lock: from the run table, else as the server knows it. */
export async function lockedError(session: Session): Promise<ToolError> {
  const { req, adapter } = session;
  await adapter.rollback().catch(() => undefined);
  const who = await lockHolder(session).catch(() => undefined); // who holds it is a courtesy
  return new ToolError(
    `another stepcfg-migrate run holds the lock${who ? ` (${who})` : ''}; ` +
      `waited ${req.lockTimeoutMs / 1000} s (--lock-timeout); ${NOTHING_WRITTEN}`,
    ExitCode.locked,
  );
}

async function lockHolder(session: Session): Promise<string | undefined> {
  const { req, adapter } = session;
  // A `running` record of this host whose process is gone was left by a killed run: not the holder.
  const alive = (r: RunRecord) => r.host !== req.origin.host || (req.origin.alive?.(r.pid) ?? true);
  const book = new Bookkeeping(adapter, await schemaOf(session));
  const holder = (await book.runningRecords()).filter(alive).at(-1);
  const server = await serverLockHolder(adapter, await lockKey(session));
  const recorded = holder
    ? `run ${holder.id} on host ${holder.host}, pid ${holder.pid}, started ${holder.startedAt}`
    : undefined;
  return [recorded, server && `the server names ${server}`].filter(Boolean).join('; ') || undefined;
}

function serverLockHolder(adapter: DialectAdapter, key: string): Promise<string | undefined> {
  return adapter.lockHolder ? adapter.lockHolder(key) : Promise.resolve(undefined);
}
