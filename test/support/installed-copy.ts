import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A package of the lockfile that an install without dev dependencies has (`npm ci --omit=dev`). */
interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
}

/** The paths (`node_modules/…`) of the packages the command needs at run time, from package-lock.json. */
function runtimePackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev && !entry.devOptional)
    .map(([path]) => path)
    .filter((path) => existsSync(join(ROOT, path))); // an optional package of another platform is absent
}

/**
 * Whether a file or directory of a package is left out: its nested packages (copied as packages of
 * their own, only those needed), and, in a native addon (one with a binding.gyp), the sources and
 * build leftovers: of its build only the compiled `build/Release/*.node` is loaded.
 */
function leftOut(relative: string, isFile: boolean, native: boolean): boolean {
  if (relative === 'node_modules' || relative.endsWith('/node_modules')) return true;
  if (!native) return false;
  if (relative === 'src' || relative === 'deps') return true;
  if (relative === 'build' || relative === 'build/Release') return false;
  if (!relative.startsWith('build/')) return false;
  return !(isFile && /^build\/Release\/[^/]+\.node$/.test(relative));
}

/** Makes a directory and its missing parents, each of mode 0755 (mkdir would apply the umask). */
function makeDir(path: string): void {
  if (existsSync(path)) return;
  makeDir(dirname(path));
  mkdirSync(path);
  chmodSync(path, 0o755);
}

/**
 * Copies a tree, following symbolic links, with modes every user can read (directories 0755,
 * files 0644, or 0755 where the owner may execute), whatever the umask of the checkout was.
 */
function copyTree(from: string, to: string, skip: (relative: string, isFile: boolean) => boolean, at = ''): void {
  makeDir(to);
  for (const name of readdirSync(from)) {
    const relative = at ? `${at}/${name}` : name;
    const source = join(from, name);
    const stat = statSync(source);
    if (skip(relative, stat.isFile())) continue;
    if (stat.isDirectory()) copyTree(source, join(to, name), skip, relative);
    else if (stat.isFile()) {
      copyFileSync(source, join(to, name));
      chmodSync(join(to, name), stat.mode & 0o100 ? 0o755 : 0o644);
    }
  }
}

/**
 * A copy of the command as an install has it (bin, dist, package.json and the run-time packages,
 * no symbolic links), under `dir`, which every user can read: for running the command as another
 * user, who may not be able to reach the checkout (a home directory of mode 0700, a CI clone into
 * `mktemp -d`). Needs `npm run build`. Returns the path of the copied bin.
 */
export function installedCopy(dir: string): string {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('installedCopy: no dist/ (npm run build)');
  const to = join(dir, 'stepcfg-migrate');
  const none = () => false;
  copyTree(join(ROOT, 'bin'), join(to, 'bin'), none);
  copyTree(join(ROOT, 'dist'), join(to, 'dist'), none);
  copyFileSync(join(ROOT, 'package.json'), join(to, 'package.json'));
  chmodSync(join(to, 'package.json'), 0o644);
  for (const path of runtimePackages()) {
    const native = existsSync(join(ROOT, path, 'binding.gyp'));
    copyTree(join(ROOT, path), join(to, path), (relative, isFile) => leftOut(relative, isFile, native));
  }
  return join(to, 'bin', 'stepcfg-migrate');
}
