import type { Plan } from '../core/plan.js';
import { ExitCode, usageError } from '../errors.js';
import { planDiff, type KeyList, type PlanDiff } from '../plan-file/compare.js';
import { Digest, type Entry } from '../plan-file/entry.js';
import { locationOf, PLAN_FORMAT, PLAN_FORMAT_VERSION, type PlanHeader } from '../plan-file/header.js';
import { planEntries, readPlanFile } from '../plan-file/reader.js';
import { PlanFileWriter } from '../plan-file/writer.js';
import { adoptPolicy, foldAsked } from './plan-policy.js';
import type { PlanFileRef } from '../migrate/report.js';
import { blockedResult, type Context, type RunRequest, type RunResult } from './context.js';

type Kind = PlanHeader['kind'];

/**
 * `--plan FILE`, before connecting: reads and checks the plan (exit 2 for a damaged file, one of
 * another kind, tool major version or database, or flags that disagree with it), then takes the
 * plan's options for those the command line left out.
 */
export async function loadReviewedPlan(req: RunRequest): Promise<void> {
  const from = req.fromPlan;
  if (!from) return;
  const loaded = await readPlanFile(from.path, req.toolVersion);
  const { header } = loaded;
  const kind: Kind = req.mode === 'rollback' ? 'rollback' : 'fold';
  if (header.kind !== kind) {
    const verb = header.kind === 'rollback' ? 'rollback --plan' : 'apply --plan';
    throw usageError(
      `--plan ${from.path} is the plan of a ${header.kind}, not of a ${kind}: carry it out with ${verb}`,
    );
  }
  const problems = [...databaseProblems(req, header), ...adoptPolicy(req, loaded, from.given)];
  if (problems.length > 0) throw usageError(`--plan ${from.path}: ${problems.join('; ')}`);
  from.loaded = loaded;
}

/** Whether the plan names this database and these tables; what differs if not. */
function databaseProblems(req: RunRequest, header: PlanHeader): string[] {
  const here = headerOf(req, header.kind, header.policy);
  const problems: string[] = [];
  if (header.database.dialect !== here.database.dialect || header.database.location !== here.database.location) {
    problems.push(`it was made for another database (${header.database.dialect} ${header.database.url})`);
  }
  for (const key of ['schema', 'step', 'workflow'] as const) {
    if (header.tables[key] !== here.tables[key]) {
      const flag = key === 'schema' ? '--schema' : `--${key}-table`;
      problems.push(`it was made with ${flag} ${header.tables[key] ?? '(none)'}, not ${here.tables[key] ?? '(none)'}`);
    }
  }
  return problems;
}

/** A plan file's first line for this request. */
function headerOf(req: RunRequest, kind: Kind, policy: PlanHeader['policy']): PlanHeader {
  return {
    format: PLAN_FORMAT,
    formatVersion: PLAN_FORMAT_VERSION,
    kind,
    toolVersion: req.toolVersion,
    createdAt: new Date().toISOString(),
    database: { dialect: req.target.dialect, url: req.target.display, location: locationOf(req.target) },
    tables: { schema: req.tables.schema ?? null, step: req.tables.step, workflow: req.tables.workflow },
    policy,
  } as PlanHeader;
}

/**
 * `--out FILE`: runs a planning pass with a sink that writes each row's entry into the plan file
 * as it goes; the file is named only when the plan goes through (exit 0, and for a rollback a
 * run to undo). Without `--out`, just the pass.
 */
export async function writingPlan(
  req: RunRequest,
  kind: Kind,
  pass: (sink?: (e: Entry) => void) => Promise<RunResult>,
): Promise<RunResult> {
  if (!req.planOut) return pass();
  const policy = kind === 'fold' ? foldAsked(req) : { run: req.runId ?? null, force: req.force };
  const writer = new PlanFileWriter(req.planOut, headerOf(req, kind, policy));
  let done: RunResult;
  try {
    done = await pass((e) => writer.add(e));
  } catch (e) {
    writer.abandon();
    throw e;
  }
  const { report } = done;
  const goesThrough = done.exitCode === ExitCode.ok && (kind === 'fold' || report.outcome === 'planned');
  if (!goesThrough) {
    writer.abandon();
    report.notes.push(
      `no plan file written to ${req.planOut}: ${kind === 'fold' ? 'the plan is blocked' : 'no rollback to plan'}`,
    );
    return done;
  }
  const { summary, orphans, conflicts, invalid, warnings } = report;
  const rollback = report.rollback && { ...report.rollback, workflows: undefined };
  report.planFile = writer.finish({
    summary,
    orphans,
    conflicts,
    invalid,
    warnings,
    ...(rollback ? { rollback } : {}),
  });
  return done;
}

/**
 * A run that finds nothing to do (no step table, or dropped by a later run) while its reviewed
 * plan had rows: not the reviewed plan, exit 3. Otherwise the result as it is.
 */
export function unlessPlanHadRows(req: RunRequest, done: RunResult): RunResult {
  const loaded = req.fromPlan?.loaded;
  if (!loaded || loaded.trailer.entries === 0) return done;
  const why = done.report.notes.at(-1) ?? '';
  const blocker =
    `the plan ${loaded.path} has ${loaded.trailer.entries} row(s), but there is nothing to migrate now (${why}); ` +
    'make the plan again';
  const report = { ...done.report, outcome: 'blocked' as const, blockers: [blocker] };
  return { exitCode: ExitCode.blocked, report };
}

/** The reviewed plan a run carries out, as its run record keeps it; null without one. */
export function planFileRef(req: RunRequest): PlanFileRef | null {
  const loaded = req.fromPlan?.loaded;
  return loaded ? { path: loaded.path, sha256: loaded.sha256 } : null;
}

/**
 * The check of a writing pass against the reviewed plan (`--plan`): the same digest of the same
 * entries, computed as the pass reads. Undefined without a plan.
 */
export function reviewedPlanCheck(req: RunRequest): { sink: (e: Entry) => void; holds: () => boolean } | undefined {
  const loaded = req.fromPlan?.loaded;
  if (!loaded) return undefined;
  const digest = new Digest();
  return {
    sink: (e) => digest.add(e),
    holds: () => digest.count === loaded.trailer.entries && digest.value === loaded.trailer.digest,
  };
}

/**
 * The end of a run whose data no longer gives the reviewed plan: exit 3, nothing written, and
 * the differences by key, found by a read-only pass (`collect`) compared with the plan's entries.
 * `found` is what the run found: the plan of its pass, or the result of its preview.
 */
export async function changedSincePlan(
  ctx: Context,
  found: Plan | RunResult,
  collect: (sink: (e: Entry) => void) => Promise<void>,
  extra: Parameters<typeof blockedResult>[3] = {},
): Promise<RunResult> {
  const loaded = ctx.req.fromPlan!.loaded!;
  const diff = await planDiff(planEntries(loaded.path), collect);
  const said = describe(diff);
  const blocker =
    `the data changed since the plan ${loaded.path} was made` +
    `${said ? `: ${said}` : ' (and changed back meanwhile)'}; make the plan again and review it`;
  if ('summary' in found) return blockedResult(ctx, found, [blocker], { ...extra, planDiff: diff });
  // A preview's report (before the question), ended as refused.
  const report = { ...found.report, ...extra, outcome: 'blocked' as const, blockers: [blocker], planDiff: diff };
  return { exitCode: ExitCode.blocked, report };
}

/** The differences in a few words: how many rows of each kind. */
function describe(diff: PlanDiff): string {
  const parts: string[] = [];
  const say = (list: KeyList, what: string) => {
    if (list.count > 0) parts.push(`${list.count} ${what}`);
  };
  say(diff.stepRows.added, 'step row(s) added');
  say(diff.stepRows.removed, 'step row(s) removed');
  say(diff.stepRows.changed, 'step row(s) changed');
  say(diff.workflowRows.added, 'workflow row(s) added');
  say(diff.workflowRows.removed, 'workflow row(s) removed');
  say(diff.workflowRows.changed, 'workflow row(s) changed');
  say(diff.results, 'workflow row(s) whose new spec would differ');
  return parts.join(', ');
}
