import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderHuman } from '../../src/cli/render.js';
import { buildReport, emptyPlan } from '../../src/migrate/report.js';

const orphan = (i: number) => ({
  uid: `uid-${i}`,
  version: '1',
  name: `step-${i}`,
  reason: 'workflow_not_found' as const,
  workflowId: 'gone',
  agentId: null,
  mcpServerId: null,
});

function planReport(orphans: number) {
  const plan = { ...emptyPlan(), orphans: Array.from({ length: orphans }, (_, i) => orphan(i)) };
  plan.summary.orphans = orphans;
  const base = { mode: 'dry-run' as const, dryRun: true, runId: 'r', dialect: 'sqlite' as const, url: 'x.db' };
  return buildReport({ ...base, plan, notes: [], outcome: 'planned' });
}

describe('the human report', () => {
  const render = (orphans: number) =>
    renderHuman(planReport(orphans), { verbose: false, chalk: new Chalk({ level: 0 }) });

  it('lists up to 20 orphans, then says how many more and where to find them', () => {
    const text = render(25);
    expect(text).toContain('uid-19');
    expect(text).not.toContain('uid-20');
    expect(text).toContain('  … and 5 more: see --json or --orphans-out');
    expect(render(20)).not.toContain('more: see');
  });
});
