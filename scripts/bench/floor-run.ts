/** Runs a floor formulation on a copy through the driver library and times its SQL (connecting excluded). */
import { BenchError } from './cleanup.js';
import type { FloorKind, FloorVariant } from './floors.js';
import { openSession, type Copy, type Session } from './targets.js';

export interface FloorRun<T> {
  seconds: number;
  /** What `inspect` read after the floor committed (same session). */
  inspected: T;
}

export async function runFloor<T = undefined>(
  copy: Copy,
  variant: FloorVariant,
  kind: FloorKind,
  inspect?: (session: Session) => Promise<T>,
): Promise<FloorRun<T>> {
  const session = await openSession(copy);
  try {
    const statements = variant.statements(kind);
    const started = performance.now();
    for (const sql of statements) {
      try {
        await session.run(sql);
      } catch (error) {
        const shown = sql.length > 300 ? `${sql.slice(0, 300)}…` : sql;
        throw new BenchError(
          `${kind} (${copy.dialect}, ${variant.name}) failed: ${(error as Error).message}\n  statement: ${shown}`,
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const inspected = (inspect ? await inspect(session) : undefined) as T;
    return { seconds, inspected };
  } finally {
    await session.close().catch(() => undefined);
  }
}
