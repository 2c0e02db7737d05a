/** Command-line options of the benchmark scripts: `--name value` or `--name=value`; anything unknown is refused. */
import type { Dialect } from '../../test/support/databases.js';

export const ALL_DATABASES: readonly Dialect[] = ['sqlite', 'postgres', 'mysql'];

export interface Options {
  sizes: number[];
  reps: number;
  databases: Dialect[];
  out?: string;
  updateReadme: boolean;
  help: boolean;
}

export class UsageError extends Error {}

type Name = 'sizes' | 'reps' | 'databases' | 'out' | 'update-readme' | 'help';
const FLAGS: ReadonlySet<Name> = new Set(['update-readme', 'help']);

/** Parses argv; `accepted` lists the options this script takes. Throws UsageError (one line). */
export function parseOptions(
  argv: string[],
  accepted: readonly Name[],
  defaults: { sizes: number[]; reps: number },
): Options {
  const options: Options = {
    sizes: defaults.sizes,
    reps: defaults.reps,
    databases: [...ALL_DATABASES],
    updateReadme: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      options.help = true;
      continue;
    }
    const option = readOption(argv, i, accepted);
    i = option.last;
    setOption(options, option.name, option.value);
  }
  return options;
}

/** The option at argv[i]: its name, its value (from `=value` or the next argument), and the index of its last argument. */
function readOption(
  argv: string[],
  i: number,
  accepted: readonly Name[],
): { name: Name; value: string | undefined; last: number } {
  const arg = argv[i]!;
  const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
  const name = match?.[1] as Name | undefined;
  if (!match || !name || !accepted.includes(name)) {
    throw new UsageError(
      arg.startsWith('-') ? `unknown option ${arg.split('=')[0]}` : `unexpected argument ${JSON.stringify(arg)}`,
    );
  }
  let value = match[2];
  if (FLAGS.has(name)) {
    if (value !== undefined) throw new UsageError(`--${name} takes no value`);
  } else if (value === undefined) {
    value = argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
  }
  return { name, value, last: i };
}

/** Sets one option read by `readOption` (a flag has no value; every other option has one). */
function setOption(options: Options, name: Name, value: string | undefined): void {
  switch (name) {
    case 'sizes':
      options.sizes = list(value!, name).map((s) => positiveInteger(s, name, 100));
      options.sizes = [...new Set(options.sizes)].sort((a, b) => a - b);
      break;
    case 'reps':
      options.reps = positiveInteger(value!, name, 1);
      break;
    case 'databases':
      options.databases = databases(value!, name);
      break;
    case 'out':
      options.out = value!;
      break;
    case 'update-readme':
      options.updateReadme = true;
      break;
    case 'help':
      options.help = true;
      break;
  }
}

/** `--databases`: a list of sqlite, postgres (postgresql), mysql (mariadb), in that order. */
function databases(value: string, name: string): Dialect[] {
  const named = list(value, name).map((d) => {
    const dialect = d === 'mariadb' ? 'mysql' : d === 'postgresql' ? 'postgres' : d;
    if (!ALL_DATABASES.includes(dialect as Dialect))
      throw new UsageError(`--databases: unknown database ${JSON.stringify(d)} (sqlite, postgres, mysql)`);
    return dialect as Dialect;
  });
  return ALL_DATABASES.filter((d) => named.includes(d));
}

function list(value: string, name: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${name} needs a comma-separated list`);
  return items;
}

function positiveInteger(value: string, name: string, min: number): number {
  const n = /^\d[\d_]*$/.test(value) ? Number(value.replace(/_/g, '')) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name}: ${JSON.stringify(value)} is not an integer ≥ ${min}`);
  return n;
}
