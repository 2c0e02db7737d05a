import { rowsOf, type TestDatabase } from './databases.js';
import { sleep } from './processes.js';

/** Another session's transaction that holds a row lock, with its server session id. */
export interface HeldLock {
  /** The holder's session: `pg_backend_pid()` on PostgreSQL, `CONNECTION_ID()` on MySQL/MariaDB. */
  session: number;
  /** Ends the holder's transaction, which releases the lock. */
  release(): Promise<void>;
}

/** Locks one workflow row (`SELECT … FOR UPDATE`) in a transaction of another session, until released. */
export async function lockWorkflowRow(db: TestDatabase, uid: string): Promise<HeldLock> {
  if (db.dialect === 'sqlite') throw new Error('lockWorkflowRow: SQLite has no row locks');
  const trx = await db.knex().transaction();
  try {
    const sql = db.dialect === 'postgres' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id';
    const [row] = rowsOf<{ id: number | string }>(db.dialect, await trx.raw(sql));
    const locked = rowsOf<{ uid: string }>(
      db.dialect,
      await trx.raw('SELECT uid FROM workflow WHERE uid = ? FOR UPDATE', [uid]),
    );
    if (locked.length === 0) throw new Error(`lockWorkflowRow: no workflow ${uid}`);
    return { session: Number(row?.id), release: async () => void (await trx.rollback()) };
  } catch (e) {
    await trx.rollback();
    throw e;
  }
}

/** The sessions of the database that wait for a row lock of the holder's session. */
async function waitersOn(db: TestDatabase, holder: number): Promise<number[]> {
  const sql =
    db.dialect === 'postgres'
      ? 'SELECT pid AS id FROM pg_stat_activity WHERE datname = ? AND ? = ANY(pg_blocking_pids(pid))'
      : // information_schema.INNODB_LOCK_WAITS names the transaction waited for (MariaDB, MySQL 5.7).
        'SELECT r.trx_mysql_thread_id AS id FROM information_schema.INNODB_LOCK_WAITS w ' +
        'JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id ' +
        'JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id ' +
        'JOIN information_schema.PROCESSLIST p ON p.ID = r.trx_mysql_thread_id ' +
        'WHERE p.DB = ? AND b.trx_mysql_thread_id = ?';
  const rows = rowsOf<{ id: number | string }>(db.dialect, await db.knex().raw(sql, [db.name, holder]));
  return rows.map((r) => Number(r.id));
}

/**
 * Polls the server until exactly one session of the database waits for a lock the holder holds,
 * and returns that session's id (the run is then held at a known point, however slow the machine).
 * Throws after `timeoutMs` (a run that never came to the locked row: the test is wrong, not slow).
 */
export async function sessionWaitingOn(db: TestDatabase, holder: HeldLock, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = await waitersOn(db, holder.session);
    if (waiting.length > 1) throw new Error(`sessionWaitingOn: ${waiting.length} sessions wait for the lock`);
    if (waiting.length === 1) return waiting[0]!;
    if (Date.now() > deadline) throw new Error(`sessionWaitingOn: no session waited for the lock in ${timeoutMs} ms`);
    // InnoDB refreshes what its information_schema tables show of transactions only when they were
    // not read for 0.1 s: polled more often, they would show the state of the first poll for ever.
    await sleep(250);
  }
}

/** Ends a session from the server side, as an administrator would (pg_terminate_backend, KILL). */
export async function killSession(db: TestDatabase, session: number): Promise<void> {
  if (db.dialect === 'postgres') {
    const [row] = rowsOf<{ ok: boolean }>(
      db.dialect,
      await db.knex().raw('SELECT pg_terminate_backend(?) AS ok', [session]),
    );
    if (!row?.ok) throw new Error(`killSession: no PostgreSQL backend ${session}`);
    return;
  }
  await db.knex().raw('KILL CONNECTION ?', [session]);
}
