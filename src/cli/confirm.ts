import { createInterface } from 'node:readline/promises';
import type { Answer } from '../commands/context.js';

/** Where a confirmation is asked: a terminal on both ends, or nobody. */
export interface Asker {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
}

/**
 * How destructive steps are confirmed: `--yes`, or a question on a terminal. Without either the
 * answer is `no-terminal`, and the run is refused (exit 3) rather than left waiting for input that
 * never comes; an operator who answers anything but yes (or ends the input) said `no`.
 */
export function confirmer(yes: boolean, io: Asker, beforeAsking: () => void): (question: string) => Promise<Answer> {
  return async (question) => {
    if (yes) return 'yes';
    if (!io.stdin?.isTTY || !io.stderr.isTTY) return 'no-terminal';
    beforeAsking();
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    // readline reads the terminal raw, so Ctrl-C arrives as a key, not as SIGINT: it is turned
    // back into the signal, which the run answers as it does anywhere else (rollback, exit 130).
    rl.on('SIGINT', () => {
      if (io.signal) process.kill(process.pid, 'SIGINT');
      else rl.close();
    });
    try {
      const answer = await rl.question(`${question} [y/N] `, io.signal ? { signal: io.signal } : {});
      return /^y(es)?$/i.test(answer.trim()) ? 'yes' : 'no';
    } catch (e) {
      // The cursor is still after the question: what follows goes on a line of its own.
      io.stderr.write('\n');
      // The end of the input (Ctrl-D) is no answer, so no; a signal is an interruption.
      if (!io.signal?.aborted && (e as Error)?.name === 'AbortError') return 'no';
      throw e;
    } finally {
      rl.close();
    }
  };
}
