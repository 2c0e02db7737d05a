// The CLI as the package ships it: the modules tsc compiled into build/, joined into a few files
// in dist/. Node resolves, reads and compiles each ES module on its own, and for some sixty small
// modules that is a good part of a command's start-up. What a run loads only when it needs it (a
// dialect, a command, ora, knex) stays in a file of its own, loaded as late as before; the
// packages stay where npm installs them.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// Chunk names carry a hash: those of an earlier build would otherwise stay and be packed.
rmSync(`${root}/dist`, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  // Every file in one folder, where main.js was: the version is read from ../../package.json.
  outdir: 'dist/cli',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
};
// The command, split into chunks that load when a run needs them.
await build({ ...common, entryPoints: { main: 'build/cli/main.js' }, splitting: true });
// Each thread is a file of its own, whole, beside the chunk that starts it (see threads.ts): the
// SQLite reading thread and the thread that writes a SQL script. Built apart, the modules they
// share with the command do not split the command's chunks into more files to load.
await build({
  ...common,
  entryPoints: {
    'scan-worker': 'build/dialect/sqlite/scan-worker.js',
    'script-worker': 'build/sql-script/script-worker.js',
  },
  splitting: false,
});
