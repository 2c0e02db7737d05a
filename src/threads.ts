import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the thread whose module is `name` (without extension), beside the module at `base`
 * (its `import.meta.url`): the compiled module where the tool runs compiled, where the bundle
 * puts each thread's module beside the chunk that starts it. The tests run the sources through
 * tsx instead: the thread then registers tsx's loader before it loads the TypeScript module.
 */
export function startThread(base: string, name: string, options: WorkerOptions): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), options);
  const source = JSON.stringify(new URL(`./${name}.ts`, base).href);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${source}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** A thread's messages as the run's thread takes them: one at a time, in the order they came. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  put(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  async take(): Promise<T> {
    while (this.items.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.items.shift() as T;
  }
}
