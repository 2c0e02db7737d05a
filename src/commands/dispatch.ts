import { rmSync } from 'node:fs';
import { redact } from '../config/db-url.js';
import { openAdapter, secretsOf } from '../dialect/connect.js';
import { ExitCode, Interrupted, NOTHING_WRITTEN, OwnTablesLeft, ToolError } from '../errors.js';
import type { Mode } from '../migrate/report.js';
import { writing, type RunRequest, type RunResult, type Session } from './context.js';
import { lockedError, takeRunLock } from './run-lock.js';

type Command = (session: Session) => Promise<RunResult>;

/** Each command's module, loaded when that command runs (a status does not load the rollback's). */
const COMMANDS: Record<Mode, () => Promise<Command>> = {
  apply: async () => (await import('./apply.js')).apply,
  'dry-run': async () => (await import('./plan.js')).plan,
  status: async () => (await import('./status.js')).status,
  rollback: async () => (await import('./rollback.js')).rollback,
  cleanup: async () => (await import('./cleanup.js')).cleanup,
  runs: async () => (await import('./runs.js')).runs,
};

/**
 * Runs one command against the database: opens the connection, takes the run lock for a command
 * that writes, runs the command, turns what went wrong into one line for the operator, closes.
 */
export async function runMigration(req: RunRequest): Promise<RunResult> {
  const writes = writing(req);
  const label = `stepcfg-migrate ${req.origin.host} pid ${req.origin.pid}`;
  const options = { readOnly: !writes, timeoutMs: req.lockTimeoutMs, label, trace: req.trace };
  const command = await COMMANDS[req.mode]();
  // A reviewed plan that cannot be carried out here is refused before anything connects.
  if (req.fromPlan) await (await import('./planned.js')).loadReviewedPlan(req);
  const adapter = await openAdapter(req.target, options);
  const session: Session = { req, adapter, outputs: [] };
  const abort = () => adapter.abort();
  req.signal?.addEventListener('abort', abort, { once: true });
  try {
    // A signal that came while the connection opened is answered as one that comes later.
    if (req.signal?.aborted) abort();
    if (writes) await takeRunLock(session);
    const done = await command(session);
    if (done.exitCode !== ExitCode.ok) removeOutputs(session);
    return done;
  } catch (e) {
    removeOutputs(session);
    throw await operatorError(session, e);
  } finally {
    req.signal?.removeEventListener('abort', abort);
    await adapter.close().catch(() => undefined);
  }
}

/** A run that exits non-zero without having committed leaves no file behind either. */
function removeOutputs(session: Session): void {
  if (!session.adapter.committed) for (const file of session.outputs) rmSync(file, { force: true });
}

/** What went wrong, as the operator is told it: one line, no password, and what was written. */
async function operatorError(session: Session, thrown: unknown): Promise<Error> {
  const { req, adapter } = session;
  const secrets = secretsOf(req.target);
  // A run that did not go through left nothing, or (MySQL/MariaDB) the tool's own empty tables.
  const left = thrown instanceof OwnTablesLeft ? thrown : undefined;
  const e = left ? left.failure : thrown;
  const unchanged = left?.outcome ?? NOTHING_WRITTEN;
  if (req.signal?.aborted) return new Interrupted(adapter.committed, left);
  // SQLite's write lock is its run lock; elsewhere a lock timeout after the run lock is somebody
  // else's row or table lock (the controller's, a long transaction's).
  if (adapter.isLockTimeout(e) && !adapter.lockRunIsSeparate) return lockedError(session);
  if (adapter.isLockTimeout(e)) {
    return new ToolError(
      `another session kept a lock on the tables for longer than --lock-timeout (${req.lockTimeoutMs / 1000} s)` +
        `${adapter.committed ? '' : `; ${unchanged}`}; try again when it is done`,
    );
  }
  await adapter.rollback().catch(() => undefined);
  if (e instanceof ToolError) {
    const line = left ? saying(e.message, left.outcome) : e.message;
    return new ToolError(redact(line, secrets), e.exitCode, { cause: e });
  }
  const line = adapter.describeError(e) ?? `unexpected error: ${(e as Error)?.message ?? String(e)}`;
  const outcome = adapter.committed
    ? 'part of the run had committed: run the same command again to finish it'
    : unchanged;
  return new ToolError(redact(`${line}; ${outcome}`, secrets), ExitCode.runtime, { cause: e });
}

/** A message with what the run left in place of "nothing was written" (or after it, where it has none). */
function saying(message: string, outcome: string): string {
  return message.includes(NOTHING_WRITTEN) ? message.replace(NOTHING_WRITTEN, outcome) : `${message}; ${outcome}`;
}
