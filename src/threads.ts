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
