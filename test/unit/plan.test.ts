import { describe, expect, it } from 'vitest';
import { PlanBuilder } from '../../src/core/plan.js';
import type { GroupPlan, Orphan } from '../../src/core/types.js';

const orphan: Orphan = {
  uid: 'o',
  version: '1',
  name: 'o',
  reason: 'no_workflow_id',
  workflowId: null,
  agentId: null,
  mcpServerId: null,
};
const row = { uid: 'r', version: '1', name: 'r', workflowId: 'w', created: null, spec: null };
const invalidGroup: GroupPlan = {
  outcomes: [{ row, outcome: 'invalid' }],
  updates: [],
  conflicts: [],
  invalid: [{ uid: 'r', version: '1', name: 'r', reason: 'x' }],
  warnings: [],
};

describe('PlanBuilder', () => {
  it('blocks on invalid rows unless --skip-invalid, on orphans only under --strict', () => {
    const build = (skipInvalid: boolean, strict: boolean) => {
      const b = new PlanBuilder({ onConflict: 'fail', skipInvalid, strict });
      b.addOrphans([orphan]);
      b.addGroup(invalidGroup);
      return b.build(2).blockers.length;
    };
    expect(build(false, false)).toBe(1);
    expect(build(true, false)).toBe(0);
    expect(build(true, true)).toBe(1);
    expect(build(false, true)).toBe(2);
  });

  it('refuses a plan that does not account for every row of the table', () => {
    const b = new PlanBuilder({ onConflict: 'fail', skipInvalid: false, strict: false });
    b.addOrphans([orphan]);
    expect(() => b.build(2)).toThrow(/accounts for 1/);
  });
});
