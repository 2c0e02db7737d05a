import { afterAll, describe, expect, it } from 'vitest';
import { MemoryWorkflowList } from '../../src/core/plan.js';
import { buildReport, emptyPlan, reportJson } from '../../src/migrate/report.js';
import { removeSpillFiles, SpillingWorkflowList } from '../../src/migrate/workflow-list.js';

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
