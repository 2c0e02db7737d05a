import { GroupPlanner } from '../core/fold.js';
import { compareCodePoints } from '../core/code-points.js';
import { PlanBuilder, type Plan } from '../core/plan.js';
import type { PlanOptions, StepRow, WorkflowRow, WorkflowUpdate } from '../core/types.js';
import { ExitCode, NOTHING_WRITTEN, ToolError } from '../errors.js';
import { planInOrder } from './ordered-pass.js';
import { toOrphan, type Store } from './store.js';
import { SpillingWorkflowList } from './workflow-list.js';

/**
 * What a pass read and decided, group by group: the workflow rows of one uid (none for orphans),
 * its step rows, and the writes planned for it (each with its new spec text).
 */
export interface Witness {
  seen(workflows: readonly WorkflowRow[], steps: readonly StepRow[], updates: readonly WorkflowUpdate[]): void;
}

/** How far a pass has come, for the progress display. */
export interface Progress {
  /** Reading and planning the rows (an apply also stages its writes), then writing them. */
  phase: 'planning' | 'writing';
  rowsDone: number;
  rowsTotal: number;
  /** Workflow rows being written (the writing phase). */
  workflows?: number;
}

export interface ScanOptions {
  batchSize: number;
  /** Lock the workflow rows read (the writing pass), where the database has row locks. */
  lock: boolean;
  /**
   * Whether the table's row count is stable during the pass, so that every row must be accounted
   * for; otherwise (rows inserted meanwhile) the pass reports the rows it saw.
   */
  exactCount: boolean;
  /** Called with each batch's writes; absent in planning passes. */
  write?: (updates: WorkflowUpdate[]) => Promise<void>;
  /** Shown every row the pass reads and every spec it would write (a plan file, a SQL script). */
  witness?: Witness;
  progress?: (p: Progress) => void;
}

/**
 * Workflows per batch of an ordered read at most: its rows are handed over, planned and dropped
 * while they are young, which the garbage collector does cheaply (about a fifth less work than
 * at 500, and less memory).
 */
const ORDERED_BATCH = 100;

/** How long planning runs before it lets the driver's I/O in. */
const YIELD_EVERY_MS = 3;

const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

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
 * The version(s) of every workflow uid: held for the whole pass (a million step rows have about
 * 100,000 workflows), so kept small: one string for the common uid with one version row, and
 * each version text once.
 */
async function workflowVersions(store: Store): Promise<Map<string, string | string[]>> {
  const versions = new Map<string, string | string[]>();
  const texts = new Map<string, string>();
  for (const k of await store.workflowKeys()) {
    let version = texts.get(k.version);
    if (version === undefined) texts.set(k.version, (version = k.version));
    const known = versions.get(k.uid);
    versions.set(
      k.uid,
      known === undefined ? version : typeof known === 'string' ? [known, version] : [...known, version],
    );
  }
  return versions;
}

/** The step table's distinct workflow ids: those of a workflow, and the dangling ones, each in code-point order. */
async function stepParents(
  store: Store,
  versions: Map<string, unknown>,
): Promise<{ parents: string[]; dangling: string[] }> {
  const ids = await store.stepWorkflowIds();
  return {
    parents: ids.filter((id) => versions.has(id)).sort(compareCodePoints),
    dangling: ids.filter((id) => !versions.has(id)).sort(compareCodePoints),
  };
}

/** Whether a list in code-point order holds this id. */
function holds(sorted: string[], id: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareCodePoints(sorted[mid] as string, id);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The order in which reads and writes were sent on the run's one connection, which runs them in
 * that order: a server refuses whatever follows a failed statement, so the first failure sent is
 * the cause. Up to `depth` writes stay in flight behind the reads asked for ahead.
 */
class SentInOrder {
  private sent = 0;
  private readonly writes: { done: Promise<void>; sent: number }[] = [];

  constructor(private readonly depth: number) {}

  /** Sends a read now; `result` is its rows, or the first failure sent before it. */
  read<T>(send: () => Promise<T>): { result: () => Promise<T> } {
    const reading = send();
    reading.catch(() => undefined); // awaited by `result`; an error of a read never awaited is not unhandled
    const sent = this.sent++;
    return { result: () => this.causeFirst(reading, sent) };
  }

  /** Sends a write; waits for the oldest one once more than `depth` are in flight. */
  async write(send: () => Promise<void>): Promise<void> {
    const done = send();
    done.catch(() => undefined); // awaited below or by `drain`
    this.writes.push({ done, sent: this.sent++ });
    if (this.writes.length > this.depth) await this.writes.shift()?.done;
  }

  /** Waits for every write in flight. */
  async drain(): Promise<void> {
    for (const { done } of this.writes) await done;
  }

  private causeFirst<T>(reading: Promise<T>, readSent: number): Promise<T> {
    return reading.catch(async (error: unknown) => {
      const before = this.writes.filter((w) => w.sent < readSent).map((w) => w.done);
      for (const settled of await Promise.allSettled(before)) if (settled.status === 'rejected') throw settled.reason;
      throw error;
    });
  }
}

/**
 * One pass over the data. The workflow keys and the step table's distinct `workflow_id`s (from its
 * index) say which step rows are orphans and which workflows have rows to fold; those workflows
 * are then read in batches by primary key, with their step rows by the `workflow_id` index, and
 * each group is planned by the pure core. Holds one batch of rows (and the keys) at a time.
 */
export async function scanPlan(store: Store, planOptions: PlanOptions, options: ScanOptions): Promise<Plan> {
  // Such rows would fit no batch, and the plan could not account for them.
  const unmatchable = await store.adapter.unmatchableIds?.(store.step);
  if (unmatchable) throw new ToolError(`${unmatchable}; ${NOTHING_WRITTEN}`, ExitCode.blocked);
  const ordered = await store.orderedGroups(Math.min(options.batchSize, ORDERED_BATCH));
  if (ordered) return planInOrder(ordered, partsOf(planOptions, options), options);
  const total = await store.countSteps();
  const versions = await workflowVersions(store);
  const pass = new PlanningPass(store, planOptions, options, versions, await stepParents(store, versions));
  await pass.planDangling();
  pass.report(total);
  await pass.planParents(total);
  return pass.finish(total);
}

/**
 * The plan being built, and the planner of each group: spec texts only for the pass that writes
 * them, items in order also for a listed report.
 */
function partsOf(planOptions: PlanOptions, options: ScanOptions): { builder: PlanBuilder; planner: GroupPlanner } {
  const texts = !!options.write || !!options.witness;
  const detail = { texts, order: texts || planOptions.listWorkflows !== false };
  return {
    builder: new PlanBuilder(planOptions, new SpillingWorkflowList()),
    planner: new GroupPlanner(planOptions.onConflict, detail),
  };
}

/** The state of one pass: the keys read up front, the plan being built, the reads and writes in flight. */
class PlanningPass {
  private readonly builder: PlanBuilder;
  private readonly planner: GroupPlanner;
  /** Ids the collation folded into another, met in the dangling pass (see `planDangling`). */
  private readonly handled = new Set<string>();
  private readonly wire: SentInOrder;
  private done = 0;
  private lastYield = performance.now();

  constructor(
    private readonly store: Store,
    private readonly planOptions: PlanOptions,
    private readonly options: ScanOptions,
    private readonly versions: Map<string, string | string[]>,
    private readonly ids: { parents: string[]; dangling: string[] },
  ) {
    ({ builder: this.builder, planner: this.planner } = partsOf(planOptions, options));
    this.wire = new SentInOrder(store.adapter.readAhead);
  }

  /** Whether a step row's exact `workflow_id` has, or will have, a batch of its own. */
  private readonly known = (id: string) =>
    holds(this.ids.parents, id) || holds(this.ids.dangling, id) || this.handled.has(id);

  /**
   * The orphans: rows without a workflow id, and rows of ids no workflow has. A case- or
   * pad-insensitive collation (MySQL/MariaDB) gives one of several ids that it holds equal, such
   * as `wf-1` and `WF-1`: the rows of the others come back with its rows and have no batch of
   * their own. They are kept by their exact id where they first come back; ids met here are
   * `handled`, so that no later batch keeps them again.
   */
  async planDangling(): Promise<void> {
    const { store, builder, options, ids } = this;
    const withoutId = await store.rowsWithoutWorkflow();
    options.witness?.seen([], withoutId, []);
    builder.addOrphans(withoutId.map((r) => toOrphan(r, 'no_workflow_id')));
    const folded: string[] = [];
    for (let i = 0; i < ids.dangling.length; i += options.batchSize) {
      const rows = await store.stepsFor(ids.dangling.slice(i, i + options.batchSize), this.known);
      for (const [id, group] of groupBy(rows, (r) => r.workflowId ?? '')) {
        if (!holds(ids.dangling, id)) this.handled.add(id);
        // The exact id of a workflow, folded by the collation into a dangling one: planned with
        // the parents, in a batch of its own, which keeps its rows only.
        if (this.versions.has(id)) folded.push(id);
        else {
          options.witness?.seen([], group, []);
          builder.addOrphans(group.map((r) => toOrphan(r, 'workflow_not_found')));
        }
      }
    }
    if (folded.length > 0) {
      ids.parents.push(...folded);
      ids.parents.sort(compareCodePoints);
    }
    this.done = builder.rowsSeen;
  }

  report(total: number): void {
    this.options.progress?.({ phase: 'planning', rowsDone: this.done, rowsTotal: total });
  }

  /**
   * The workflows with rows to fold, batch by batch. The next batches are asked for before this
   * one is planned (`readAhead`): on a server their rows arrive while this batch is planned.
   */
  async planParents(total: number): Promise<void> {
    const { parents } = this.ids;
    const { batchSize } = this.options;
    const ahead: ReturnType<typeof this.fetch>[] = [];
    let asked = 0;
    for (let i = 0; i < parents.length; i += batchSize) {
      for (; ahead.length <= this.store.adapter.readAhead && asked < parents.length; asked += batchSize) {
        ahead.push(this.fetch(asked));
      }
      const [workflowRows, stepRows] = await ahead.shift()!.result();
      await this.planBatch(workflowRows, stepRows);
      this.report(total);
      // A synchronous driver (better-sqlite3) never leaves the microtask queue: let signals and
      // the progress display in between batches.
      await yieldToEventLoop();
      this.lastYield = performance.now();
    }
    await this.wire.drain();
  }

  finish(total: number): Plan {
    return this.builder.build(this.options.exactCount ? total : this.builder.rowsSeen);
  }

  private keysOf(uid: string): { uid: string; version: string }[] {
    const v = this.versions.get(uid) as string | string[];
    return typeof v === 'string' ? [{ uid, version: v }] : v.map((version) => ({ uid, version }));
  }

  private fetch(i: number) {
    const batch = this.ids.parents.slice(i, i + this.options.batchSize);
    const keys = batch.flatMap((uid) => this.keysOf(uid));
    return this.wire.read(() =>
      Promise.all([this.store.workflowsByKeys(keys, this.options.lock), this.store.stepsFor(batch, this.known)]),
    );
  }

  private async planBatch(workflowRows: WorkflowRow[], stepRows: StepRow[]): Promise<void> {
    const workflows = groupBy<WorkflowRow>(workflowRows, (w) => w.uid);
    const updates: WorkflowUpdate[] = [];
    for (const [uid, rows] of groupBy<StepRow>(stepRows, (s) => s.workflowId ?? '')) {
      const versionRows = workflows.get(uid) ?? (await this.latecomers(uid));
      this.done += rows.length;
      if (!versionRows) {
        // Deleted since its key was read: its rows have no workflow now.
        this.options.witness?.seen([], rows, []);
        this.builder.addOrphans(rows.map((r) => toOrphan(r, 'workflow_not_found')));
        continue;
      }
      const group = this.planner.plan(versionRows, rows);
      this.options.witness?.seen(versionRows, rows, group.updates);
      this.builder.addGroup(group);
      for (const u of group.updates) updates.push(u);
      await this.yieldNowAndThen();
    }
    const { write } = this.options;
    // The write queues on the connection behind the reads asked for ahead: waiting for it here
    // would wait for those reads too.
    if (write && updates.length > 0) await this.wire.write(() => write(updates));
  }

  /**
   * The workflow rows of rows whose exact id the collation folded into one of this batch (see
   * `known`), or of a workflow deleted since its key was read: read now. Undefined when none.
   */
  private async latecomers(uid: string): Promise<WorkflowRow[] | undefined> {
    if (!this.versions.has(uid)) return undefined;
    const rows = await this.wire.read(() => this.store.workflowsByKeys(this.keysOf(uid), this.options.lock)).result();
    return rows.length > 0 ? rows : undefined;
  }

  /** Planning lets the driver's I/O in every few milliseconds, so the server never waits for the planner. */
  private async yieldNowAndThen(): Promise<void> {
    if (performance.now() - this.lastYield <= YIELD_EVERY_MS) return;
    await yieldToEventLoop();
    this.lastYield = performance.now();
  }
}
