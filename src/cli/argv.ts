import { usageError } from '../errors.js';
import { VALUE_FLAGS, VERBS, type Verb } from './program.js';

/** A command line split into its command and the rest. */
export interface Split {
  /** The command, or undefined for the forms without one (an apply, or --dry-run / --rollback). */
  verb?: Verb;
  /** `help [command]`: print that help and stop. */
  help?: { verb?: Verb };
  rest: string[];
}

/**
 * Finds the command among the words, wherever it stands (`status --db x` and `--db x status`
 * both work): the first word that is not a flag or a flag's value.
 */
export function splitCommand(argv: string[]): Split {
  const at = firstWord(argv);
  if (at === -1) return { rest: argv };
  const word = argv[at]!;
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (word === 'help') return { help: { verb: helpTopic(rest) }, rest: [] };
  if ((VERBS as readonly string[]).includes(word)) return { verb: word as Verb, rest };
  throw usageError(`unknown command ${shown(word)}${suggestion(word)}; commands: ${VERBS.join(', ')}, help`);
}

function firstWord(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return -1;
    if (!word.startsWith('-')) return i;
    if (VALUE_FLAGS.has(word)) i++; // its value follows
  }
  return -1;
}

function helpTopic(rest: string[]): Verb | undefined {
  const topic = rest.find((w) => !w.startsWith('-'));
  if (topic === undefined) return undefined;
  if ((VERBS as readonly string[]).includes(topic)) return topic as Verb;
  throw usageError(`no help for ${shown(topic)}${suggestion(topic)}; commands: ${VERBS.join(', ')}`);
}

/** A word as it may be repeated back: never what may be a URL with a password in it. */
function shown(word: string): string {
  return word.includes('://') || word.includes('@') ? '(a URL? the database goes with --db)' : `"${word}"`;
}

/** ` (did you mean "plan"?)` for a word close to a command, else nothing. */
function suggestion(word: string): string {
  const near = VERBS.map((v) => [v, distance(word.toLowerCase(), v)] as const).sort((a, b) => a[1] - b[1])[0]!;
  if (word.toLowerCase() === 'dry-run') return ' (did you mean "plan", or --dry-run?)';
  return near[1] <= Math.max(1, Math.floor(near[0].length / 3)) ? ` (did you mean "${near[0]}"?)` : '';
}

/** Levenshtein distance, small words only. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
