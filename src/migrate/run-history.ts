import { ExitCode, ToolError } from '../errors.js';
import type { RunRecord } from './bookkeeping.js';
import type { PlanFileRef, RunListing } from './report.js';

/** Whether a recorded apply changed anything that a rollback could undo. */
export function hasChanges(run: RunRecord): boolean {
  return run.tableDropped || run.status === 'folded' || workflowsUpdated(run) > 0;
}

/** The workflow rows a recorded run updated, from its summary. */
export function workflowsUpdated(run: RunRecord): number {
  const summary = JSON.parse(run.summary || '{}') as { workflowsUpdated?: number };
  return Number(summary.workflowsUpdated ?? 0);
}

/** The applied runs a rollback could still undo (changed something, not rolled back), oldest first. */
export function undoableRuns(runs: RunRecord[]): RunRecord[] {
  return runs.filter((r) => r.mode === 'apply' && r.status !== 'rolled_back' && hasChanges(r));
}

/**
 * Which runs recorded as `running` are not: they died holding the lock (kill -9, power loss), and
 * the database let the lock go with their connection. A run is stale when it ran on this host and
 * its process is gone, or when nobody holds the run lock (`lockFree`; unknown where the lock is
 * the file's own, SQLite).
 */
export function staleRuns(
  runs: RunRecord[],
  here: { host: string; alive?: (pid: number) => boolean },
  lockFree: boolean | undefined,
): RunRecord[] {
  const gone = (r: RunRecord) => r.host === here.host && here.alive !== undefined && !here.alive(r.pid);
  return runs.filter((r) => r.status === 'running' && (lockFree === true || gone(r)));
}

/** The plan file a recorded run carried out (`--plan`), from its options; null when none. */
export function planFileOf(run: RunRecord): PlanFileRef | null {
  const options = JSON.parse(run.options || '{}') as { planFile?: PlanFileRef | null };
  return options.planFile ?? null;
}

/** The recorded runs as `status` lists them; only the newest run that changed something can be rolled back. */
export function runListing(runs: RunRecord[], stale: RunRecord[] = []): RunListing[] {
  const finished = runs.filter((r) => r.status === 'applied' || r.status === 'folded');
  const newest = undoableRuns(finished).at(-1);
  return runs.map((r) => ({
    id: r.id,
    mode: r.mode,
    status: stale.includes(r) ? 'interrupted' : r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    tableDropped: r.tableDropped,
    workflowsUpdated: workflowsUpdated(r),
    canRollBack: r === newest,
    host: r.host,
    pid: r.pid,
    planFile: planFileOf(r),
  }));
}

/**
 * The run a rollback undoes: `--run ID` (or a unique prefix of it), else the latest that changed
 * something. Undefined when there is none; a `--run` that names no applied run is a usage error.
 */
export function chooseRun(runs: RunRecord[], wanted: string | undefined): RunRecord | undefined {
  if (wanted === undefined) return undoableRuns(runs).at(-1);
  const matches = runs.filter((r) => r.id === wanted || r.id.startsWith(wanted));
  if (matches.length !== 1 || matches[0]!.mode !== 'apply') {
    throw new ToolError(
      matches.length > 1
        ? `--run ${wanted} matches ${matches.length} runs: give more of the id`
        : `no applied run "${wanted}" in the run table (see: stepcfg-migrate status)`,
      ExitCode.usage,
    );
  }
  return matches[0];
}

/** The applied runs after `run` that are not rolled back: they must be undone first, newest first. */
export function laterRuns(runs: RunRecord[], run: RunRecord): RunRecord[] {
  return undoableRuns(runs).filter((r) => r.startedAt > run.startedAt);
}

/** The run that dropped this step table and is not rolled back, the newest such. */
export function droppingRun(runs: RunRecord[], stepTable: string): RunRecord | null {
  const dropped = runs.filter(
    (r) => r.mode === 'apply' && r.tableDropped && r.status !== 'rolled_back' && r.stepTable === stepTable,
  );
  return dropped.at(-1) ?? null;
}
