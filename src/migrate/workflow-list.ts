import { compareChanges, type WorkflowList } from '../core/plan.js';
import type { WorkflowChange } from '../core/types.js';
import { SpillingList } from './spill-list.js';

/**
 * The changed workflow rows of a large plan, for its report, kept in a list that spills to a file
 * (see `SpillingList`), so that memory stays flat whatever the number of workflows. The scan adds
 * them in (uid, version) order; a list that was not added in order is sorted in memory when finished.
 */
export class SpillingWorkflowList extends SpillingList<WorkflowChange> implements WorkflowList {
  private last: WorkflowChange | null = null;
  private ordered = true;

  override add(change: WorkflowChange): void {
    if (this.last && compareChanges(this.last, change) > 0) this.ordered = false;
    this.last = change;
    super.add(change);
  }

  finish(): void {
    this.flush();
    if (this.ordered) return;
    // Not in scan order (never the case for a scan): sort it all in memory, once.
    const all = [...this];
    all.sort(compareChanges);
    this.replaceAll(all);
    this.ordered = true;
  }
}
