import { ExitCode, NOTHING_WRITTEN } from '../errors.js';
import type { Context, RunResult } from './context.js';

/** What the operator is asked before a command writes, and what they are shown first. */
export interface Ask {
  /** The question, naming what will be written and where. */
  question: string;
  /** Whether the command may not write without an answer (off a terminal: only with --yes). */
  required: boolean;
  /** The read-only pass that shows what the command will do: blocked, or the plan to approve. */
  preview: () => Promise<RunResult>;
}

/** The line a run cancelled at the question ends with. */
export const CANCELLED = `cancelled at the question; ${NOTHING_WRITTEN}`;

/**
 * Asks once before writing, after showing what will be written: undefined when the command may
 * go on (approved, --yes, or nobody to ask where no answer is required); otherwise the result
 * to end with — the preview's, when it is blocked, or a cancellation (exit 3).
 */
export async function approval(ctx: Pick<Context, 'req'>, ask: Ask): Promise<RunResult | undefined> {
  const { req } = ctx;
  if (req.confirmation === 'yes') return undefined;
  // A reviewed plan was the review: it is not asked about again. What needs an answer whatever
  // was reviewed (a drop, a rollback) is asked, or needs --yes, as without a plan.
  if (req.fromPlan && !ask.required) return undefined;
  if (req.confirmation === 'nobody') {
    if (!ask.required) return undefined;
    // The CLI refuses this before connecting; a library caller gets the same refusal here.
    return refusedAfter(await ask.preview(), NO_TERMINAL);
  }
  const preview = await ask.preview();
  if (preview.exitCode !== ExitCode.ok) return preview;
  if (await req.confirm(ask.question, preview.report)) return undefined;
  const report = { ...preview.report, outcome: 'cancelled' as const, blockers: [CANCELLED] };
  return { exitCode: ExitCode.blocked, report };
}

const NO_TERMINAL = `--yes is needed when there is no terminal to answer the question; ${NOTHING_WRITTEN}`;

/** The preview's report, ended as refused (exit 3) for one reason. */
function refusedAfter(preview: RunResult, reason: string): RunResult {
  const report = { ...preview.report, outcome: 'blocked' as const, blockers: [...preview.report.blockers, reason] };
  return { exitCode: ExitCode.blocked, report };
}
