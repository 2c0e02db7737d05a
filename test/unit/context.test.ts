import { describe, expect, it } from 'vitest';
import { runRecord, writing, type Context, type RunRequest } from '../../src/commands/context.js';
import { parseDatabaseUrl } from '../../src/config/db-url.js';
import type { Mode } from '../../src/migrate/report.js';

function requestFor(mode: Mode, dryRun = false): RunRequest {
  return {
    mode,
    dryRun,
    target: parseDatabaseUrl('x.db'),
    tables: { step: 'step_configuration', workflow: 'workflow' },
    plan: { onConflict: 'fail', skipInvalid: false, strict: false },
    lockTimeoutMs: 1000,
    batchSize: 500,
    toolVersion: '9.9.9',
    dropTable: false,
    force: false,
    origin: { host: 'box', pid: 42 },
    confirm: async () => 'no-terminal',
  };
}

describe('the run context', () => {
  it('writes (and so locks) for apply, rollback and cleanup, never for a dry run, plan or status', () => {
    expect(writing(requestFor('apply'))).toBe(true);
    expect(writing(requestFor('rollback'))).toBe(true);
    expect(writing(requestFor('cleanup'))).toBe(true);
    expect(writing(requestFor('rollback', true))).toBe(false);
    expect(writing(requestFor('cleanup', true))).toBe(false);
    expect(writing(requestFor('dry-run', true))).toBe(false);
    expect(writing(requestFor('status'))).toBe(false);
  });

  it('records a run as running, by whom and with which tool, until told otherwise', () => {
    const ctx = { req: requestFor('rollback'), runId: 'r1', startedAt: '2026-01-01T00:00:00Z' } as Context;
    expect(runRecord(ctx)).toMatchObject({
      id: 'r1',
      mode: 'rollback',
      status: 'running',
      host: 'box',
      pid: 42,
      toolVersion: '9.9.9',
      stepTable: 'step_configuration',
      workflowTable: 'workflow',
      finishedAt: null,
      tableDropped: false,
    });
    expect(runRecord({ ...ctx, req: requestFor('apply') }, { status: 'applied' })).toMatchObject({
      mode: 'apply',
      status: 'applied',
    });
  });
});
