import type { DialectAdapter } from '../adapter.js';
import { capabilitiesOf } from '../capabilities.js';
import { joinAdapter } from '../join.js';
import type { ServerConnection, Trace } from '../types.js';
import { MysqlIntrospection } from './introspection.js';
import { MysqlReads } from './reads.js';
import { MysqlSession } from './session.js';
import { MysqlWrites } from './writes.js';

export { describeMysqlError } from './errors.js';

/** Connects to MySQL or MariaDB and sets the session up (sql_mode, isolation, autocommit, packet size). */
export async function openMysql(target: ServerConnection, trace?: Trace): Promise<DialectAdapter> {
  const session = await MysqlSession.open(target, trace);
  return joinAdapter({
    capabilities: capabilitiesOf('mysql'),
    session,
    introspection: new MysqlIntrospection(session),
    reads: new MysqlReads(session),
    writes: new MysqlWrites(session),
  });
}
