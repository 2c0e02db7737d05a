import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/core/plan.js';
import { dropBlockersOf, leftRows } from '../../src/migrate/drop-guard.js';
import { emptyPlan } from '../../src/migrate/report.js';

function planWith(fields: Partial<Plan>): Plan {
  return { ...emptyPlan(), ...fields };
}

const orphan = {
  uid: 'o1',
  version: '1',
  name: 'o',
  reason: 'workflow_not_found' as const,
  workflowId: 'gone',
  agentId: null,
  mcpServerId: null,
};
const conflict = (resolution: 'kept' | 'replaced', name: string) => ({
  workflowUid: 'w',
  workflowVersion: '1',
  name,
  stepUid: 's1',
  stepVersion: '1',
  reason: 'differs',
  resolution,
});

describe('the drop guard', () => {
  it('counts orphans, skipped invalid rows and kept conflicts as rows left, a step row once', () => {
    const plan = planWith({
      orphans: [orphan],
      invalid: [{ uid: 'i1', version: '1', name: null, reason: 'bad json' }],
      conflicts: [conflict('kept', 'a'), conflict('kept', 'b'), conflict('replaced', 'c')],
    });
    expect(leftRows(plan)).toEqual([
      { uid: 'o1', version: '1', reason: 'orphan: workflow_not_found' },
      { uid: 'i1', version: '1', reason: 'invalid: bad json' },
      { uid: 's1', version: '1', reason: 'conflict kept: differs' },
    ]);
  });

  const base = { stepTable: 'step_configuration', ownTables: ['step_configuration', 'step_configuration_labels'] };

  it('refuses to drop rows that are left unless --orphans-out keeps them', () => {
    const plan = planWith({ orphans: [orphan] });
    const refused = dropBlockersOf({ ...base, plan, orphansOut: undefined, foreignKeys: [] });
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^--drop-table would remove 1 row\(s\) that are not folded .*--orphans-out FILE/);
    expect(dropBlockersOf({ ...base, plan, orphansOut: '/tmp/o.json', foreignKeys: [] })).toEqual([]);
  });

  it("refuses foreign keys of other tables, not the step table's labels or the tool's kept copies", () => {
    const foreignKeys = [
      { table: 'public.step_configuration_labels', constraint: 'fk_labels' },
      { table: '"stepcfg_migrate_1234abcd_labels"', constraint: 'fk_kept' },
      { table: 'public.Audit', constraint: 'fk_audit' },
    ];
    const refused = dropBlockersOf({ ...base, plan: emptyPlan(), orphansOut: undefined, foreignKeys });
    expect(refused).toEqual(['table public.Audit references step_configuration (fk_audit); --drop-table refused']);
  });
});
