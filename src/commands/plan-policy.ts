import type { FoldPolicy, RollbackPolicy } from '../plan-file/header.js';
import type { LoadedPlan } from '../plan-file/reader.js';
import type { RunRequest } from './context.js';

const flagName = (key: string) => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** How a flag's value reads in a message. */
const shown = (value: unknown) => (value === true ? 'on' : value === false || value === null ? 'off' : String(value));

/**
 * Takes a reviewed plan's options into the request: a flag the command line left out gets the
 * plan's value; one it gave must say the same. Returns what disagrees (nothing is taken then).
 */
export function adoptPolicy(req: RunRequest, loaded: LoadedPlan, given: string[]): string[] {
  const { header } = loaded;
  if (header.kind === 'fold') {
    const problems = disagreements(header.policy, foldAsked(req), given);
    if (problems.length === 0) takeFold(req, header.policy);
    return problems;
  }
  const planned = rollbackPolicy(header.policy, loaded.trailer.rollback);
  const problems = disagreements(planned, { run: req.runId ?? null, force: req.force }, given);
  if (problems.length === 0) Object.assign(req, { runId: planned.run, force: planned.force });
  return problems;
}

/** The flags given that say otherwise than the plan (`--run` may give a prefix of the id). */
function disagreements(planned: object, asked: object, given: string[]): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(planned)) {
    const mine = (asked as Record<string, unknown>)[key];
    const agrees = key === 'run' ? typeof value === 'string' && value.startsWith(String(mine)) : mine === value;
    if (given.includes(key) && !agrees) {
      problems.push(
        `${flagName(key)} ${shown(mine)} disagrees with the plan's ${shown(value)} (leave it out to take the plan's)`,
      );
    }
  }
  return problems;
}

/** The run a rollback's plan undoes is the one it found, in its end line. */
function rollbackPolicy(policy: RollbackPolicy, found: unknown): { run: string | null; force: boolean } {
  const run = (found as { run?: unknown } | undefined)?.run;
  return { run: typeof run === 'string' ? run : null, force: policy.force };
}

/** The options a fold's plan fixes, as the request gives them. */
export function foldAsked(req: RunRequest): FoldPolicy {
  const { onConflict, skipInvalid, strict } = req.plan;
  return {
    onConflict,
    skipInvalid,
    strict,
    dropTable: req.dropTable,
    orphansOut: req.orphansOut ?? null,
    ifExists: !!req.ifExists,
  };
}

function takeFold(req: RunRequest, p: FoldPolicy): void {
  req.plan = { ...req.plan, onConflict: p.onConflict, skipInvalid: p.skipInvalid, strict: p.strict };
  req.dropTable = p.dropTable;
  req.orphansOut = p.orphansOut ?? undefined;
  req.ifExists = p.ifExists;
}
