import { compareCodePoints } from './code-points.js';
import type {
  Conflict,
  GroupPlan,
  InvalidRow,
  Orphan,
  PlanOptions,
  SpecWarning,
  Summary,
  WorkflowChange,
} from './types.js';

/**
 * The workflow rows a plan changes, in (uid, version) code-point order. A list of a million-row
 * run may live outside memory (see `SpillingWorkflowList`), so it is only iterated, never indexed.
 */
export interface WorkflowList extends Iterable<WorkflowChange> {
  readonly length: number;
  add(change: WorkflowChange): void;
  /** Called once all are added: puts them in order. */
  finish(): void;
}

/** Orders changes by uid, then version, by code point. */
export function compareChanges(a: WorkflowChange, b: WorkflowChange): number {
  return compareCodePoints(a.uid, b.uid) || compareCodePoints(a.version, b.version);
}

/** A list held in memory (small plans, tests). */
export class MemoryWorkflowList implements WorkflowList {
  private readonly items: WorkflowChange[] = [];
  get length(): number {
    return this.items.length;
  }
  add(change: WorkflowChange): void {
    this.items.push(change);
  }
  finish(): void {
    this.items.sort(compareChanges);
  }
  [Symbol.iterator](): Iterator<WorkflowChange> {
    return this.items[Symbol.iterator]();
  }
}

/** The whole plan of a run, as data: what it would write and every problem it found. */
export interface Plan {
  summary: Summary;
  orphans: Orphan[];
  conflicts: Conflict[];
  invalid: InvalidRow[];
  warnings: SpecWarning[];
  workflows: WorkflowList;
  /** Why the plan may not be applied; empty when it may. */
  blockers: string[];
}

/** Collects group plans and orphans, batch after batch, into one {@link Plan}. */
export class PlanBuilder {
  private readonly orphans: Orphan[] = [];
  private readonly conflicts: Conflict[] = [];
  private readonly invalid: InvalidRow[] = [];
  private readonly warnings: SpecWarning[] = [];
  private folded = 0;
  private unchanged = 0;
  private workflowsUpdated = 0;
  /** Step rows accounted for so far. */
  rowsSeen = 0;

  constructor(
    private readonly options: PlanOptions,
    private readonly workflows: WorkflowList = new MemoryWorkflowList(),
  ) {}

  addOrphans(orphans: Orphan[]): void {
    this.orphans.push(...orphans);
    this.rowsSeen += orphans.length;
  }

  addGroup(group: GroupPlan): void {
    this.conflicts.push(...group.conflicts);
    this.invalid.push(...group.invalid);
    this.warnings.push(...group.warnings);
    this.workflowsUpdated += group.updates.length;
    if (this.options.listWorkflows !== false) {
      for (const u of [...group.updates].sort(compareChanges)) {
        this.workflows.add({ uid: u.uid, version: u.version, name: u.name, added: u.added, replaced: u.replaced });
      }
    }
    for (const { outcome } of group.outcomes) {
      if (outcome === 'folded') this.folded++;
      else if (outcome === 'unchanged') this.unchanged++;
    }
    this.rowsSeen += group.outcomes.length;
  }

  /** Finishes the plan; `stepRows` is the table's row count, which every row must account for. */
  build(stepRows: number): Plan {
    if (this.rowsSeen !== stepRows) {
      throw new Error(
        `internal check failed: the table has ${stepRows} step rows but the plan accounts for ${this.rowsSeen}`,
      );
    }
    const blockers = this.blockers();
    this.sortLists();
    return {
      summary: {
        stepRows,
        folded: this.folded,
        unchanged: this.unchanged,
        workflowsUpdated: this.workflowsUpdated,
        orphans: this.orphans.length,
        conflicts: this.conflicts.length,
        invalid: this.invalid.length,
        warnings: this.warnings.length,
        tableDropped: false,
      },
      orphans: this.orphans,
      conflicts: this.conflicts,
      invalid: this.invalid,
      warnings: this.warnings,
      workflows: this.workflows,
      blockers,
    };
  }

  /** Why the plan may not be applied, under the run's options. */
  private blockers(): string[] {
    const blockers: string[] = [];
    const blockingConflicts = this.conflicts.filter((c) => c.resolution === 'blocking').length;
    if (blockingConflicts > 0) {
      blockers.push(`${blockingConflicts} conflict(s) with items already in workflows (see --on-conflict)`);
    }
    if (this.invalid.length > 0 && !this.options.skipInvalid) {
      blockers.push(`${this.invalid.length} invalid row(s) (see --skip-invalid)`);
    }
    if (this.orphans.length > 0 && this.options.strict) {
      blockers.push(`${this.orphans.length} orphaned row(s) under --strict`);
    }
    return blockers;
  }

  /** Puts the lists in one order whatever the database's collation and batch order. */
  private sortLists(): void {
    this.orphans.sort(
      byKeys(
        (o) => o.uid,
        (o) => o.version,
      ),
    );
    this.invalid.sort(
      byKeys(
        (i) => i.uid,
        (i) => i.version,
      ),
    );
    this.warnings.sort(
      byKeys(
        (w) => w.uid,
        (w) => w.version,
        (w) => w.field,
      ),
    );
    this.workflows.finish();
    this.conflicts.sort(
      byKeys(
        (c) => c.workflowUid,
        (c) => c.workflowVersion,
        (c) => c.name,
      ),
    );
  }
}

/** Orders by these keys in turn, each by code point (null as the empty text). */
function byKeys<T>(...keys: ((x: T) => string | null)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const key of keys) {
      const d = compareCodePoints(key(a) ?? '', key(b) ?? '');
      if (d !== 0) return d;
    }
    return 0;
  };
}
