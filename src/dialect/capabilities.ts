import type { Dialect } from '../config/db-url.js';

/**
 * What a database can do, known from its dialect alone: the CLI asks before it connects, the run
 * asks instead of comparing dialect names. This module loads no driver.
 */
export interface Capabilities {
  readonly dialect: Dialect;
  /** DDL takes part in transactions (SQLite, PostgreSQL), instead of committing (MySQL). */
  readonly transactionalDdl: boolean;
  /**
   * Batches a scan asks for ahead of the one it plans: a server reads them meanwhile. None on
   * SQLite, whose reads are synchronous (rows read early would only be held longer).
   */
  readonly readAhead: number;
  /** `SELECT … FOR UPDATE` locks rows (PostgreSQL, MySQL); SQLite locks the whole file instead. */
  readonly rowLocks: boolean;
  /**
   * Whether a writing transaction sees one stable state of the step table (SQLite: no other
   * writer; MySQL: a consistent snapshot), or each statement sees the latest (PostgreSQL READ COMMITTED).
   */
  readonly stableWrites: boolean;
  /** Tables live in named schemas (PostgreSQL schemas, MySQL databases) that `--schema` picks. */
  readonly hasSchemas: boolean;
  /**
   * The run lock is a lock of its own (PostgreSQL advisory lock, MySQL GET_LOCK), taken by
   * `lockRun`; without one (SQLite), the write lock of `BEGIN IMMEDIATE` is the run lock.
   */
  readonly lockRunIsSeparate: boolean;
  /** The whole database is one file that `--backup-file` can copy (SQLite online backup). */
  readonly fileBackup: boolean;
}

const CAPABILITIES: Record<Dialect, Capabilities> = {
  sqlite: {
    dialect: 'sqlite',
    transactionalDdl: true,
    readAhead: 0,
    rowLocks: false,
    stableWrites: true,
    hasSchemas: false,
    lockRunIsSeparate: false,
    fileBackup: true,
  },
  postgres: {
    dialect: 'postgres',
    transactionalDdl: true,
    readAhead: 2,
    rowLocks: true,
    stableWrites: false,
    hasSchemas: true,
    lockRunIsSeparate: true,
    fileBackup: false,
  },
  mysql: {
    dialect: 'mysql',
    transactionalDdl: false,
    readAhead: 2,
    rowLocks: true,
    stableWrites: true,
    hasSchemas: true,
    lockRunIsSeparate: true,
    fileBackup: false,
  },
};

/** The capabilities of a dialect, before any connection. */
export function capabilitiesOf(dialect: Dialect): Capabilities {
  return CAPABILITIES[dialect];
}
