import { createInterface } from 'node:readline/promises';

/** Where a confirmation is asked: a terminal on both ends, or nobody. */
export interface Asker {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
}

/**
 * How destructive steps are confirmed: `--yes`, or a question on a terminal; without either the
 * answer is no, and the run is refused (exit 3) rather than left waiting for input that never comes.
 */
export function confirmer(yes: boolean, io: Asker, beforeAsking: () => void): (question: string) => Promise<boolean> {
  return async (question) => {
    if (yes) return true;
    if (!io.stdin?.isTTY || !io.stderr.isTTY) return false;
    beforeAsking();
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `, io.signal ? { signal: io.signal } : {});
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}
