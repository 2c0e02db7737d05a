import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';

/** The real command on a pseudo-terminal (util-linux `script`), driven by keys as an operator would. */
export interface OnTerminal {
  child: ChildProcess;
  /** Everything the terminal showed so far (stdout and stderr share it, as on a screen). */
  output(): string;
  /** Resolves once the terminal has shown text matching `pattern`; rejects if the run ends first. */
  printed(pattern: RegExp): Promise<void>;
  /** Types keys on the terminal ("\x03" is Ctrl-C, "\x04" Ctrl-D at the start of a line). */
  type(keys: string): void;
  /** How the run ended: its exit code as `script -e` passes it on, and the screen. */
  done: Promise<{ code: number | null; output: string }>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts the bin on a pseudo-terminal of 120 columns (a terminal with a width, so the progress
 * line runs as it does for an operator). `script -e` passes the exit code on; a process killed
 * by a signal shows as 128 + its number too, so a test also checks the line the run printed.
 */
export function startOnTerminal(args: string[], env: NodeJS.ProcessEnv = {}): OnTerminal {
  const command = `stty cols 120 rows 40; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let ended = false;
  const waiters: { pattern: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(screen)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      } else if (ended) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(new Error(`the run ended before showing ${w.pattern}:\n${screen}`));
      }
    }
  };
  child.stdout!.on('data', (c: Buffer) => ((screen += c.toString()), check()));
  child.stderr!.on('data', (c: Buffer) => ((screen += c.toString()), check()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      check();
      resolve({ code, output: screen });
    }),
  );
  return {
    child,
    output: () => screen,
    printed: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
      }),
    type: (keys) => void child.stdin!.write(keys),
    done,
  };
}

const ESC = String.fromCharCode(27);
/** A cursor move to the first column, a carriage return, or a line erase: what the progress line redraws with. */
const LINE_RESET = new RegExp(`\r|${ESC}\\[(?:1?G|[0-2]?K|0?J)`);
const ESCAPES = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');

/**
 * The lines a terminal shows at the end: each line as it stands after carriage returns, cursor
 * moves to the first column and line erases (the progress line's redraws) have done their work.
 */
export function visibleLines(output: string): string[] {
  return output
    .split('\n')
    .map(
      (line) =>
        line
          .split(LINE_RESET)
          .map((part) => part.replace(ESCAPES, ''))
          .filter((part) => part !== '')
          .at(-1)
          ?.trimEnd() ?? '',
    )
    .filter((line) => line !== '');
}
