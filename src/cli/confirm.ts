import type { Report } from '../migrate/report.js';
import { chalkFor, type Output } from './output.js';
import { renderHuman } from './render.js';

/** Where a confirmation is asked: the terminal the operator types into. */
export interface Asker {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  signal?: AbortSignal;
}

/**
 * The question before writing, on the terminal: the plan of what will be written first (on
 * stderr, like the question), then one question naming the database. Only "y" or "yes" approve;
 * an empty answer or the end of input (Ctrl-D) do not.
 */
export function confirmer(io: Asker, out: Output, beforeAsking: () => void) {
  return async (question: string, preview: Report): Promise<boolean> => {
    if (!io.stdin) return false;
    beforeAsking();
    out.stderr.write(renderHuman(preview, { verbose: false, chalk: chalkFor(out, out.stderr), verdict: false }));
    // readline is loaded only when a question is asked.
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: io.stdin, output: out.stderr });
    // readline reads the terminal raw, so Ctrl-C arrives as a key, not as SIGINT: it is turned
    // back into the signal, which the run answers as it does anywhere else (rollback, exit 130).
    rl.on('SIGINT', () => {
      if (io.signal) process.kill(process.pid, 'SIGINT');
      else rl.close();
    });
    try {
      const answer = await rl.question(`${question} [y/N] `, io.signal ? { signal: io.signal } : {});
      return /^y(es)?$/i.test(answer.trim());
    } catch (e) {
      // The cursor is still after the question: what follows goes on a line of its own.
      out.stderr.write('\n');
      if (!io.signal?.aborted && (e as Error)?.name === 'AbortError') return false;
      throw e;
    } finally {
      rl.close();
    }
  };
}
