import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

/** The bin running on a real pseudo-terminal (util-linux `script`), typed into by the test. */
export interface TerminalRun {
  /** Resolves with everything shown so far once the screen matches `pattern`. */
  waitFor: (pattern: RegExp) => Promise<string>;
  /** Types into the terminal ("\r" for Enter, "\x03" for Ctrl-C). */
  type: (keys: string) => void;
  /** The exit code and everything the terminal showed. */
  done: Promise<{ code: number; screen: string }>;
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Starts `stepcfg-migrate ARGS` with stdin, stdout and stderr on one pseudo-terminal. */
export function onTerminal(args: string[]): TerminalRun {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  const waiting: { pattern: RegExp; resolve: (s: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiting]) {
      if (!w.pattern.test(screen)) continue;
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(screen);
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString('utf8');
    check();
  });
  const done = new Promise<{ code: number; screen: string }>((resolve) => {
    child.on('close', (code) => {
      for (const w of waiting) w.resolve(screen); // the caller's expectation then fails on what was shown
      resolve({ code: code ?? -1, screen });
    });
  });
  return {
    waitFor: (pattern) =>
      new Promise((resolve) => {
        waiting.push({ pattern, resolve });
        check();
      }),
    type: (keys) => child.stdin.write(keys),
    done,
  };
}
