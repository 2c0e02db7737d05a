/**
 * Everything the benchmark creates (databases, files, child processes) is registered here before it is
 * created, and removed by `cleanup()`: at the end of the run, after a failure, and after SIGINT/SIGTERM.
 *
 * On a signal the benchmark first interrupts what is in flight (the tool's child process gets SIGTERM,
 * server sessions on the benchmark's databases are ended), so that the awaited step fails at once; the
 * main flow then unwinds into its `finally`, which runs `cleanup()`. A statement of better-sqlite3 is
 * synchronous: a signal is handled when it returns. A second signal exits at once, naming what is left.
 */
import type { ChildProcess } from 'node:child_process';
import { UsageError } from './options.js';

export interface Resource {
  /** For messages: "postgres database stepcfg_bench_…", "directory /tmp/…". */
  describe: string;
  /** Removes it; must succeed when it does not exist (it is registered before it is created). */
  remove(): Promise<void> | void;
}

/** Raised by the main flow when it notices the interruption; it prints nothing. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** A failure the benchmark expects and explains (no stack trace). */
export class BenchError extends Error {}

const resources: Resource[] = [];
const children = new Set<ChildProcess>();
const interrupters: Array<() => Promise<void>> = [];
let signalled: NodeJS.Signals | undefined;
let cleaning: Promise<void> | undefined;

/** Registers a resource; returns a function that removes it now and forgets it. */
export function track(resource: Resource): () => Promise<void> {
  resources.push(resource);
  return async () => {
    const index = resources.indexOf(resource);
    if (index < 0) return;
    resources.splice(index, 1);
    await resource.remove();
  };
}

/** Registers a running child process: a signal sends it SIGTERM. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers a way to break off in-flight server work (ending sessions), used on a signal. */
export function onInterrupt(fn: () => Promise<void>): void {
  interrupters.push(fn);
}

/** The signal received, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return signalled;
}

/** Throws {@link Interrupted} if a signal came: call between steps. */
export function checkInterrupted(): void {
  if (signalled) throw new Interrupted(signalled);
}

/** Removes every registered resource, newest first; idempotent. Failures are printed, not thrown. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of children) child.kill('SIGTERM');
    // The tool rolls back and exits on SIGTERM (it gives itself 10 s); after 15 s it is killed.
    for (let waited = 0; children.size > 0; waited += 50) {
      if (waited === 15_000) for (const child of children) child.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const resource of resources.splice(0).reverse()) {
      try {
        await resource.remove();
      } catch (error) {
        console.error(`bench: could not remove ${resource.describe}: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/**
 * SIGINT/SIGTERM: note the signal, stop the child process and the server sessions, and let the main flow
 * unwind into cleanup. If it has not finished within 60 s, clean up from here and exit.
 */
export function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const code = signal === 'SIGINT' ? 130 : 143;
      if (signalled) {
        const left = resources.map((r) => r.describe);
        console.error(
          `bench: ${signal} again: exiting without cleaning up${left.length ? `; left behind: ${left.join(', ')}` : ''}`,
        );
        process.exit(code);
      }
      signalled = signal;
      console.error(
        `bench: ${signal}: stopping and removing the benchmark's databases and files (${signal} again to quit at once)`,
      );
      for (const child of children) child.kill('SIGTERM');
      for (const interrupt of interrupters) interrupt().catch(() => undefined);
      setTimeout(() => void cleanup().finally(() => process.exit(code)), 60_000).unref();
    });
  }
}

/**
 * Runs a script's body with the signal handlers installed, prints an expected failure as one message
 * (`BENCH_DEBUG=1` adds the stack), always cleans up, and exits: 0, 1 (failure), 2 (usage), 130/143.
 */
export async function runMain(name: string, body: () => Promise<void>): Promise<never> {
  installSignalHandlers();
  let code = 0;
  try {
    await body();
  } catch (error) {
    code = error instanceof UsageError ? 2 : 1;
    if (!interruptedBy()) {
      const message = error instanceof Error ? error.message : String(error);
      if (code === 2) console.error(`${name}: ${message} (see --help)`);
      else console.error(`${name}: error: ${message}`);
      if (process.env.BENCH_DEBUG && error instanceof Error && !(error instanceof BenchError))
        console.error(error.stack);
    }
  } finally {
    await cleanup();
  }
  const signal = interruptedBy();
  process.exit(signal ? (signal === 'SIGINT' ? 130 : 143) : code);
}
