import type { BulkWrites, DialectAdapter, Introspection, ReadSql, Session } from './adapter.js';
import type { Capabilities } from './capabilities.js';

/** The parts of one dialect's adapter, each doing one job over the same session. */
export interface AdapterParts {
  capabilities: Capabilities;
  session: Session;
  introspection: Introspection;
  reads: ReadSql;
  writes: BulkWrites;
}

/**
 * The one object the run works with: each member answered by the part whose job it is. Only
 * the members of the narrow interfaces pass; what the parts share among themselves stays inside.
 */
export function joinAdapter(parts: AdapterParts): DialectAdapter {
  const { session } = parts;
  return {
    ...parts.capabilities,
    get committed() {
      return session.committed;
    },
    ...sessionMembers(session),
    ...introspectionMembers(parts.introspection),
    ...readMembers(parts.reads),
    ...writeMembers(parts.writes),
  };
}

function sessionMembers(s: Session): Omit<Session, 'committed'> {
  return {
    query: s.query.bind(s),
    queryArrays: s.queryArrays.bind(s),
    begin: s.begin.bind(s),
    commit: s.commit.bind(s),
    rollback: s.rollback.bind(s),
    lockRun: s.lockRun?.bind(s),
    lockHolder: s.lockHolder?.bind(s),
    liftTimeLimits: s.liftTimeLimits?.bind(s),
    isLockTimeout: s.isLockTimeout.bind(s),
    describeError: s.describeError.bind(s),
    abort: s.abort.bind(s),
    close: s.close.bind(s),
  };
}

function introspectionMembers(i: Introspection): Introspection {
  return {
    columns: i.columns.bind(i),
    defaultSchema: i.defaultSchema.bind(i),
    notes: i.notes.bind(i),
    writeProblems: i.writeProblems.bind(i),
    unmatchableIds: i.unmatchableIds?.bind(i),
    foreignKeysTo: i.foreignKeysTo.bind(i),
    isJsonCapable: i.isJsonCapable.bind(i),
    keepsJsonText: i.keepsJsonText.bind(i),
  };
}

function readMembers(r: ReadSql): ReadSql {
  return {
    asText: r.asText.bind(r),
    asJsonText: r.asJsonText.bind(r),
    asJsonBytes: r.asJsonBytes?.bind(r),
    selectList: r.selectList.bind(r),
    keyLookup: r.keyLookup.bind(r),
    orderedScan: r.orderedScan?.bind(r),
  };
}

function writeMembers(w: BulkWrites): BulkWrites {
  return {
    openStage: w.openStage.bind(w),
    stage: w.stage.bind(w),
    writeStage: w.writeStage.bind(w),
    closeStage: w.closeStage.bind(w),
    updateSpecs: w.updateSpecs.bind(w),
    freezeTables: w.freezeTables?.bind(w),
    keepTables: w.keepTables.bind(w),
    restoreTables: w.restoreTables.bind(w),
    dropTable: w.dropTable.bind(w),
    createTable: w.createTable.bind(w),
    backupFile: w.backupFile?.bind(w),
  };
}
