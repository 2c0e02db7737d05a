import { planWorkflowGroup } from '../core/fold.js';
import { PlanBuilder, type Plan } from '../core/plan.js';
import type { PlanOptions, StepRow, WorkflowRow, WorkflowUpdate } from '../core/types.js';
import { toOrphan, type Store } from './store.js';

/** How far a pass has come, for the progress display. */
export interface Progress {
  phase: 'planning' | 'writing';
  rowsDone: number;
  rowsTotal: number;
}

export interface ScanOptions {
  batchSize: number;
  /** Lock the workflow rows read (the writing pass), where the database has row locks. */
  lock: boolean;
  /** Called with each batch's writes; absent in planning passes. */
  write?: (updates: WorkflowUpdate[]) => Promise<void>;
  progress?: (p: Progress) => void;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

/**
 * One pass over the data: orphans first, then workflows in batches of uids (keyset order) with
 * their step rows, each group planned by the pure core. Holds one batch of rows at a time.
 */
export async function scanPlan(store: Store, planOptions: PlanOptions, options: ScanOptions): Promise<Plan> {
  const total = await store.countSteps();
  const builder = new PlanBuilder(planOptions);
  const orphans = await store.orphans();
  builder.addOrphans(orphans);
  let done = orphans.length;
  const phase = options.write ? 'writing' : 'planning';
  options.progress?.({ phase, rowsDone: done, rowsTotal: total });

  let after: string | null = null;
  for (;;) {
    const uids = await store.workflowUids(after, options.batchSize);
    if (uids.length === 0) break;
    after = uids[uids.length - 1] as string;
    const workflows = groupBy<WorkflowRow>(await store.workflowsFor(uids, options.lock), (w) => w.uid);
    const steps = groupBy<StepRow>(await store.stepsFor(uids), (s) => s.workflowId ?? '');
    const updates: WorkflowUpdate[] = [];
    for (const [uid, rows] of steps) {
      const versions = workflows.get(uid);
      if (!versions) {
        // Matched by the database's collation (case, trailing spaces) but by no exact uid.
        builder.addOrphans(rows.map((r) => toOrphan(r, 'workflow_not_found')));
      } else {
        const group = planWorkflowGroup(versions, rows, planOptions.onConflict);
        builder.addGroup(group);
        updates.push(...group.updates);
      }
      done += rows.length;
    }
    if (options.write && updates.length > 0) await options.write(updates);
    options.progress?.({ phase, rowsDone: done, rowsTotal: total });
  }
  return builder.build(total);
}
