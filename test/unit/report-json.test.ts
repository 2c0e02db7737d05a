import { afterAll, describe, expect, it } from 'vitest';
import { MemoryWorkflowList } from '../../src/core/plan.js';
import {
  buildReport,
  emptyPlan,
  reportJson,
  type DriftedRow,
  type RestoredRow,
  type RollbackResult,
} from '../../src/migrate/report.js';
import { removeSpillFiles, SpillingList } from '../../src/migrate/spill-list.js';
import { SpillingWorkflowList } from '../../src/migrate/workflow-list.js';

// The process's exit removes them too, but a test worker lives on.
afterAll(removeSpillFiles);

const change = (i: number) => ({
  uid: `wf-${String(i).padStart(6, '0')}`,
  version: i % 10 === 0 ? '2' : '1',
  name: `workflow ${i} é ✓ 𝄞`,
  added: [`step-${i}-a`, `step-${i}-ü`],
  replaced: [],
});

function reportWith(workflows: MemoryWorkflowList | SpillingWorkflowList) {
  const plan = { ...emptyPlan(), workflows };
  return buildReport({
    mode: 'apply',
    dryRun: false,
    runId: 'r1',
    dialect: 'sqlite',
    url: 'x.db',
    plan,
    notes: [],
    outcome: 'done',
  });
}

describe('the JSON report, written in chunks', () => {
  it('is exactly JSON.stringify of the report with its workflows as an array', () => {
    for (const n of [0, 1, 3]) {
      const list = new MemoryWorkflowList();
      for (let i = 0; i < n; i++) list.add(change(i));
      const report = reportWith(list);
      expect([...reportJson(report)].join('')).toBe(
        JSON.stringify({ ...report, workflows: [...list] }, null, 2) + '\n',
      );
    }
  });

  // Forty thousand entries through a spill file take seconds on a loaded machine: the test checks
  // content, so it gets a bound far above that rather than the default five seconds.
  it('streams a list spilled to a file, in order, with every character intact', { timeout: 60_000 }, () => {
    const list = new SpillingWorkflowList();
    const n = 40_000; // past the in-memory part, across several read chunks
    for (let i = 0; i < n; i++) list.add(change(i));
    list.finish();
    expect(list.length).toBe(n);
    const parsed = JSON.parse([...reportJson(reportWith(list))].join(''));
    expect(parsed.workflows).toHaveLength(n);
    expect(parsed.workflows[0]).toEqual(change(0));
    expect(parsed.workflows[n - 1]).toEqual(change(n - 1));
    expect(
      parsed.workflows.every(
        (w: { uid: string; name: string }, i: number) => w.uid === change(i).uid && w.name === change(i).name,
      ),
    ).toBe(true);
  });

  it('sorts a list that was not added in order', () => {
    const list = new SpillingWorkflowList();
    for (let i = 9_999; i >= 0; i--) list.add(change(i));
    list.finish();
    expect([...list].map((w) => w.uid)).toEqual(Array.from({ length: 10_000 }, (_, i) => change(i).uid));
  });
});

/** A list of `n` entries that spills after `inMemory` of them, and the same entries as an array. */
function spilled<T>(n: number, inMemory: number, entry: (i: number) => T): { list: SpillingList<T>; array: T[] } {
  const list = new SpillingList<T>(inMemory);
  const array = Array.from({ length: n }, (_, i) => entry(i));
  for (const e of array) list.add(e);
  return { list, array };
}

const restored = (i: number): RestoredRow => ({
  uid: `wf-${i}`,
  version: String(i % 3),
  name: `workflow ${i} "quoted" é 𝄞\nline`,
  forced: i % 7 === 0,
});

const drifted = (i: number): DriftedRow => ({
  uid: `wf-${i}`,
  version: '1',
  reason: 'its spec changed after the run (branch)',
  name: i % 5 === 0 ? null : `workflow ${i}`,
  keys: ['branch'],
  forceKeeps: i % 2 === 0 ? ['branch'] : [],
});

function rollbackReport(rollback: RollbackResult) {
  return buildReport({
    mode: 'rollback',
    dryRun: false,
    runId: 'r2',
    dialect: 'sqlite',
    url: 'x.db',
    plan: emptyPlan(),
    notes: [],
    outcome: 'done',
    extra: { rollback },
  });
}

describe("a rollback's report, its rows spilled to a file", () => {
  const summary = (workflows: RollbackResult['workflows'], driftedRows: RollbackResult['drifted']): RollbackResult => ({
    run: 'r1',
    workflowsRestored: 3,
    drifted: driftedRows,
    forced: 1,
    tablesRestored: [],
    message: 'run r1 rolled back',
    runId: 'r1',
    runStartedAt: '2026-01-01T00:00:00.000Z',
    runWorkflowsUpdated: 3,
    runTableDropped: false,
    workflowsToRestore: 4,
    workflows,
    tables: [],
    refused: false,
  });

  it('is byte for byte the JSON of the same report with arrays', () => {
    for (const [n, inMemory] of [
      [0, 2],
      [1, 2],
      [2, 2],
      [9, 2],
      [2_500, 100],
    ] as const) {
      const rows = spilled(n, inMemory, restored);
      const edits = spilled(Math.min(n, 7), 3, drifted);
      const streamed = [...reportJson(rollbackReport(summary(rows.list, edits.list)))].join('');
      const plain = { ...rollbackReport(summary(rows.array, edits.array)), workflows: [] };
      expect(streamed).toBe(JSON.stringify(plain, null, 2) + '\n');
    }
  });

  it('lists its rows in the order they were added, each once', () => {
    const rows = spilled(2_500, 100, restored);
    expect(rows.list.length).toBe(2_500);
    expect([...rows.list]).toEqual(rows.array);
    expect([...rows.list]).toEqual(rows.array); // read again, the same
  });
});
