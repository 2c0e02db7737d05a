import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/migrate/bookkeeping.js';
import {
  chooseRun,
  droppingRun,
  hasChanges,
  laterRuns,
  runListing,
  staleRuns,
  undoableRuns,
} from '../../src/migrate/run-history.js';
import { ToolError } from '../../src/errors.js';

let clock = 0;
function run(fields: Partial<RunRecord> & { id: string }): RunRecord {
  clock++;
  return {
    mode: 'apply',
    status: 'applied',
    startedAt: `2026-01-01T00:00:${String(clock).padStart(2, '0')}Z`,
    finishedAt: null,
    host: 'h',
    pid: 1,
    toolVersion: '0.1.0',
    stepTable: 'step_configuration',
    workflowTable: 'workflow',
    options: '{}',
    summary: JSON.stringify({ workflowsUpdated: 3 }),
    tableDropped: false,
    keptStepTable: null,
    keptLabelsTable: null,
    restoreDdl: null,
    rolledBackBy: null,
    rolledBackAt: null,
    ...fields,
  };
}

describe('run history', () => {
  const noop = run({ id: 'a-noop', summary: JSON.stringify({ workflowsUpdated: 0 }) });
  const first = run({ id: 'b-first' });
  const undone = run({ id: 'c-undone', status: 'rolled_back' });
  const dropped = run({ id: 'd-dropped', tableDropped: true, summary: '{}', keptStepTable: 'kept' });
  const rollbackRun = run({ id: 'e-rollback', mode: 'rollback', status: 'done' });
  const runs = [noop, first, undone, dropped, rollbackRun];

  it('counts a run as having changes when it updated workflows, dropped the table, or folded before a drop', () => {
    expect(hasChanges(noop)).toBe(false);
    expect(hasChanges(first)).toBe(true);
    expect(hasChanges(dropped)).toBe(true);
    expect(hasChanges(run({ id: 'f', status: 'folded', summary: '{}' }))).toBe(true);
  });

  it('undoes the newest applied run with changes by default, never a rolled-back one or a rollback', () => {
    expect(undoableRuns(runs).map((r) => r.id)).toEqual(['b-first', 'd-dropped']);
    expect(chooseRun(runs, undefined)?.id).toBe('d-dropped');
    expect(chooseRun([noop, rollbackRun], undefined)).toBeUndefined();
  });

  it('takes a unique id prefix for --run, and refuses an ambiguous or unknown one as a usage error', () => {
    expect(chooseRun(runs, 'b-')?.id).toBe('b-first');
    expect(chooseRun(runs, 'c-undone')?.id).toBe('c-undone');
    const usage = (wanted: string) => {
      try {
        chooseRun(runs, wanted);
      } catch (e) {
        return e instanceof ToolError ? [e.exitCode, e.message] : e;
      }
      return 'no error';
    };
    expect(usage('zz')).toEqual([2, 'no applied run "zz" in the run table (see: stepcfg-migrate status)']);
    expect(usage('e-rollback')).toEqual([
      2,
      'no applied run "e-rollback" in the run table (see: stepcfg-migrate status)',
    ]);
    expect(usage('')).toEqual([2, '--run  matches 5 runs: give more of the id']);
  });

  it('lists the later applied runs that must be rolled back first', () => {
    expect(laterRuns(runs, first).map((r) => r.id)).toEqual(['d-dropped']);
    expect(laterRuns(runs, dropped)).toEqual([]);
  });

  it('marks only the newest finished run with changes as one that can be rolled back', () => {
    const listing = runListing(runs);
    expect(listing.filter((r) => r.canRollBack).map((r) => r.id)).toEqual(['d-dropped']);
    expect(listing.map((r) => r.workflowsUpdated)).toEqual([0, 3, 3, 0, 3]);
    const running = run({ id: 'g-running', status: 'running' });
    expect(runListing([first, running]).find((r) => r.canRollBack)?.id).toBe('b-first');
  });

  it('finds the run that dropped a step table, unless it was rolled back', () => {
    expect(droppingRun(runs, 'step_configuration')?.id).toBe('d-dropped');
    expect(droppingRun(runs, 'other_steps')).toBeNull();
    expect(droppingRun([{ ...dropped, status: 'rolled_back' }], 'step_configuration')).toBeNull();
  });

  it('a `running` record is stale when its process on this host is gone, or when nobody holds the run lock', () => {
    const here = run({ id: 'c-here', status: 'running', host: 'h', pid: 10 });
    const dead = run({ id: 'd-dead', status: 'running', host: 'h', pid: 11 });
    const away = run({ id: 'e-away', status: 'running', host: 'other', pid: 11 });
    const runs = [first, here, dead, away];
    const origin = { host: 'h', alive: (pid: number) => pid === 10 };
    expect(staleRuns(runs, origin, undefined).map((r) => r.id)).toEqual(['d-dead']);
    expect(staleRuns(runs, origin, false).map((r) => r.id)).toEqual(['d-dead']);
    expect(staleRuns(runs, origin, true).map((r) => r.id)).toEqual(['c-here', 'd-dead', 'e-away']);
    expect(runListing(runs, staleRuns(runs, origin, undefined)).map((r) => r.status)).toEqual([
      'applied',
      'running',
      'interrupted',
      'running',
    ]);
  });
});
