import { GroupPlanner } from '../core/fold.js';
import { compareCodePoints } from '../core/code-points.js';
import { PlanBuilder, type Plan } from '../core/plan.js';
import type { PlanOptions, StepRow, WorkflowRow, WorkflowUpdate } from '../core/types.js';
import { toOrphan, type Store } from './store.js';
import { SpillingWorkflowList } from './workflow-list.js';

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
  progress?: (p: Progress) => void;
}

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
 * One pass over the data. The workflow keys and the step table's distinct `workflow_id`s (from its
 * index) say which step rows are orphans and which workflows have rows to fold; those workflows
 * are then read in batches by primary key, with their step rows by the `workflow_id` index, and
 * each group is planned by the pure core. Holds one batch of rows (and the keys) at a time.
 */
export async function scanPlan(store: Store, planOptions: PlanOptions, options: ScanOptions): Promise<Plan> {
  const total = await store.countSteps();
  const builder = new PlanBuilder(planOptions, new SpillingWorkflowList());
  const phase = 'planning';
  // Spec texts only for the pass that writes them; items in order also for a listed report.
  const detail = { texts: !!options.write, order: !!options.write || planOptions.listWorkflows !== false };
  const planner = new GroupPlanner(planOptions.onConflict, detail);
  const versions = await workflowVersions(store);
  const { parents, dangling } = await stepParents(store, versions);

  // A case- or pad-insensitive collation (MySQL/MariaDB) gives one of several ids that it holds
  // equal, such as `wf-1` and `WF-1`: the rows of the others come back with its rows, and have no
  // batch of their own. They are kept, by their exact id (see `stepsFor`), where they first come
  // back; ids met in the dangling pass are `handled` then, so that no later batch keeps them again.
  const handled = new Set<string>();
  const known = (id: string) => holds(parents, id) || holds(dangling, id) || handled.has(id);
  const folded: string[] = [];
  builder.addOrphans((await store.rowsWithoutWorkflow()).map((r) => toOrphan(r, 'no_workflow_id')));
  for (let i = 0; i < dangling.length; i += options.batchSize) {
    const rows = await store.stepsFor(dangling.slice(i, i + options.batchSize), known);
    for (const [id, group] of groupBy(rows, (r) => r.workflowId ?? '')) {
      if (!holds(dangling, id)) handled.add(id);
      // The exact id of a workflow, folded by the collation into a dangling one: planned below,
      // in a batch of its own, which keeps its rows only.
      if (versions.has(id)) folded.push(id);
      else builder.addOrphans(group.map((r) => toOrphan(r, 'workflow_not_found')));
    }
  }
  if (folded.length > 0) {
    parents.push(...folded);
    parents.sort(compareCodePoints);
  }
  let done = builder.rowsSeen;
  options.progress?.({ phase, rowsDone: done, rowsTotal: total });

  // The next batches are asked for before this one is planned (`readAhead`): on a server, their
  // rows arrive while this batch is planned (one connection runs the queries in order). Planning yields to
  // the event loop every few milliseconds, so that the driver reads the rows that arrive and
  // sends the next query meanwhile, and the server is never left waiting for the planner.
  const keysOf = (uid: string) => {
    const v = versions.get(uid) as string | string[];
    return typeof v === 'string' ? [{ uid, version: v }] : v.map((version) => ({ uid, version }));
  };
  const fetch = (i: number) => {
    const batch = parents.slice(i, i + options.batchSize);
    const keys = batch.flatMap(keysOf);
    const rows = Promise.all([store.workflowsByKeys(keys, options.lock), store.stepsFor(batch, known)]);
    rows.catch(() => undefined); // awaited below; an error of a batch never reached is not unhandled
    return { rows, sent: sent++ };
  };
  // The order in which reads and writes were sent: one connection runs them in that order, and
  // a server refuses whatever follows a failed statement, so the first failure sent is the cause.
  let sent = 0;
  const ahead: ReturnType<typeof fetch>[] = [];
  let asked = 0;
  const askAhead = () => {
    while (ahead.length <= store.adapter.readAhead && asked < parents.length) {
      ahead.push(fetch(asked));
      asked += options.batchSize;
    }
  };
  const writing: { done: Promise<void>; sent: number }[] = [];
  /** A read's result; when it fails, a write in flight that was sent before it and failed is the cause. */
  const causeFirst = <T>(reading: Promise<T>, readSent: number): Promise<T> =>
    reading.catch(async (error: unknown) => {
      const before = writing.filter((w) => w.sent < readSent).map((w) => w.done);
      for (const settled of await Promise.allSettled(before)) if (settled.status === 'rejected') throw settled.reason;
      throw error;
    });
  let lastYield = performance.now();
  for (let i = 0; i < parents.length; i += options.batchSize) {
    askAhead(); // this batch, and `readAhead` more
    const read = ahead.shift() as ReturnType<typeof fetch>;
    const [workflowRows, stepRows] = await causeFirst(read.rows, read.sent);
    const workflows = groupBy<WorkflowRow>(workflowRows, (w) => w.uid);
    const steps = groupBy<StepRow>(stepRows, (s) => s.workflowId ?? '');
    const updates: WorkflowUpdate[] = [];
    for (const [uid, rows] of steps) {
      let versionRows = workflows.get(uid);
      if (!versionRows && versions.has(uid)) {
        // Rows whose exact id the collation folded into one of this batch (see `known`), or of a
        // workflow deleted since its key was read: their workflow rows are read now.
        versionRows = await causeFirst(store.workflowsByKeys(keysOf(uid), options.lock), sent++);
        if (versionRows.length === 0) versionRows = undefined;
      }
      if (!versionRows) {
        // Deleted since its key was read: its rows have no workflow now.
        builder.addOrphans(rows.map((r) => toOrphan(r, 'workflow_not_found')));
        done += rows.length;
        continue;
      }
      const group = planner.plan(versionRows, rows);
      builder.addGroup(group);
      for (const u of group.updates) updates.push(u);
      done += rows.length;
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (options.write && updates.length > 0) {
      // The write queues on the connection behind the reads asked for ahead: waiting for it here
      // would wait for those reads too. Up to `readAhead` writes stay in flight.
      const done = options.write(updates);
      done.catch(() => undefined); // awaited below
      writing.push({ done, sent: sent++ });
      if (writing.length > store.adapter.readAhead) await writing.shift()?.done;
    }
    options.progress?.({ phase, rowsDone: done, rowsTotal: total });
    // A synchronous driver (better-sqlite3) never leaves the microtask queue: let signals and the
    // progress display in between batches.
    await yieldToEventLoop();
    lastYield = performance.now();
  }
  for (const { done } of writing) await done;
  return builder.build(options.exactCount ? total : builder.rowsSeen);
}
