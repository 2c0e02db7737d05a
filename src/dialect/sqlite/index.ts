import type { DialectAdapter } from '../adapter.js';
import { capabilitiesOf } from '../capabilities.js';
import { joinAdapter } from '../join.js';
import type { Trace } from '../types.js';
import { SqliteIntrospection } from './introspection.js';
import { SqliteReads } from './reads.js';
import { SqliteSession } from './session.js';
import { SqliteWrites } from './writes.js';

export { describeSqliteError } from './errors.js';

/** Opens an existing SQLite file as an adapter; read-only mode is enforced by SQLite itself. */
export async function openSqlite(
  file: string,
  options: { readOnly: boolean; busyTimeoutMs: number; trace?: Trace },
): Promise<DialectAdapter> {
  const session = await SqliteSession.open(file, options);
  const introspection = new SqliteIntrospection(session);
  return joinAdapter({
    capabilities: capabilitiesOf('sqlite'),
    session,
    introspection,
    reads: new SqliteReads(session),
    writes: new SqliteWrites(session, introspection),
  });
}
