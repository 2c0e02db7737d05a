import type { DialectAdapter } from '../adapter.js';
import { capabilitiesOf } from '../capabilities.js';
import { joinAdapter } from '../join.js';
import type { ServerConnection, Trace } from '../types.js';
import { PostgresIntrospection } from './introspection.js';
import { PostgresReads } from './reads.js';
import { PostgresSession } from './session.js';
import { PostgresWrites } from './writes.js';

export { describePostgresError } from './errors.js';

/** Connects to PostgreSQL and sets the session up (DateStyle, no JIT) for the tool's reads. */
export async function openPostgres(target: ServerConnection, trace?: Trace): Promise<DialectAdapter> {
  const session = await PostgresSession.open(target, trace);
  const introspection = new PostgresIntrospection(session);
  return joinAdapter({
    capabilities: capabilitiesOf('postgres'),
    session,
    introspection,
    reads: new PostgresReads(session, introspection),
    writes: new PostgresWrites(session),
  });
}
