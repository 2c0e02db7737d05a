import type { GroupPlanner } from '../core/fold.js';
import type { Plan, PlanBuilder } from '../core/plan.js';
import type { WorkflowUpdate } from '../core/types.js';
import type { ScanOptions } from './scan.js';
import { toOrphan, type OrderedGroups } from './store.js';

const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One pass over step rows that arrive grouped by exact `workflow_id`, each group with its
 * workflow's rows (see `Store.orderedGroups`): a group without an id, or without a workflow, is
 * orphans; any other is planned by the pure core. The count and the rows come from one snapshot,
 * so every row is accounted for.
 */
export async function planInOrder(
  groups: OrderedGroups,
  parts: { builder: PlanBuilder; planner: GroupPlanner },
  options: ScanOptions,
): Promise<Plan> {
  const { builder, planner } = parts;
  const total = groups.steps;
  options.progress?.({ phase: 'planning', rowsDone: 0, rowsTotal: total });
  try {
    for await (const batch of groups.batches()) {
      const updates: WorkflowUpdate[] = [];
      for (const { workflows, steps } of batch) {
        const id = steps[0]?.workflowId;
        if (!id || workflows.length === 0) options.witness?.seen([], steps, []);
        if (!id) builder.addOrphans(steps.map((r) => toOrphan(r, 'no_workflow_id')));
        else if (workflows.length === 0) builder.addOrphans(steps.map((r) => toOrphan(r, 'workflow_not_found')));
        else {
          const group = planner.plan(workflows, steps);
          options.witness?.seen(workflows, steps, group.updates);
          builder.addGroup(group);
          for (const u of group.updates) updates.push(u);
        }
      }
      if (options.write && updates.length > 0) await options.write(updates);
      options.progress?.({ phase: 'planning', rowsDone: builder.rowsSeen, rowsTotal: total });
      // Lets signals and the progress display in between batches.
      await yieldToEventLoop();
    }
  } finally {
    await groups.close();
  }
  return builder.build(total);
}
