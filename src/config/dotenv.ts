/**
 * The controller's `.env` file as python-dotenv reads it: `KEY=VALUE` lines, an optional
 * `export `, `#` comments (whole lines, and after an unquoted value when a space precedes them),
 * single quotes with only `\\` and `\'` escaped, double quotes with backslash escapes, quoted values
 * over several lines, and `${NAME}` / `${NAME:-default}` filled in (in every value, as python-dotenv
 * does). An entry it cannot read is left out, as python-dotenv leaves it out.
 */
export function parseDotenv(text: string, env: NodeJS.ProcessEnv = {}): Map<string, string> {
  const values = new Map<string, string>();
  // A byte-order mark stays, as it does for Python reading the file as utf-8: it is part of the first key.
  const src = text.replace(/\r\n?/g, '\n');
  let at = 0;
  while (at < src.length) {
    const entry = ENTRY.exec(src.slice(at));
    const line = src.indexOf('\n', at);
    if (entry === null) {
      at = line === -1 ? src.length : line + 1; // a comment, a blank line, or a line that is no entry
      continue;
    }
    const key = entry[1]!;
    at += entry[0].length;
    const { value, end } = readValue(src, at);
    at = end;
    // Values already in the environment win over the file's, also inside `${…}` (load_dotenv without override).
    const lookup = (name: string) => env[name] ?? values.get(name);
    if (value !== undefined) values.set(key, expand(value, lookup));
  }
  return values;
}

/** The start of an entry: `[export ]KEY =` at the start of a line. */
const ENTRY = /^[ \t]*(?:export[ \t]+)?((?:[^=#\s]|\uFEFF)+)[ \t]*=[ \t]*/;

/**
 * A value from `at`: quoted (up to its closing quote, newlines included; then only a comment may
 * follow on its line) or unquoted, to the end of the line. `value` is undefined when it is neither.
 */
function readValue(src: string, at: number): { value: string | undefined; end: number } {
  const eol = (from: number) => (src.indexOf('\n', from) === -1 ? src.length : src.indexOf('\n', from));
  const quote = src[at];
  if (quote !== '"' && quote !== "'") {
    const end = eol(at);
    return {
      value: src
        .slice(at, end)
        .replace(/[ \t]+#.*$/, '')
        .trimEnd(),
      end,
    };
  }
  for (let i = at + 1; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === quote) {
      const end = eol(i);
      const raw = src.slice(at + 1, i);
      const rest = src.slice(i + 1, end);
      if (!/^[ \t]*(#.*)?$/.test(rest)) return { value: undefined, end };
      return { value: quote === "'" ? unescapeSingle(raw) : unescapeDouble(raw), end };
    }
  }
  return { value: undefined, end: eol(at) }; // no closing quote
}

function unescapeSingle(raw: string): string {
  return raw.replace(/\\([\\'])/g, '$1');
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };

function unescapeDouble(raw: string): string {
  return raw.replace(/\\([\\'"abfnrtv])/g, (_, c: string) => ESCAPES[c] ?? c);
}

/** `${NAME}` and `${NAME:-default}`; a name set nowhere gives the default, or nothing. */
function expand(value: string, lookup: (name: string) => string | undefined): string {
  return value.replace(
    /\$\{([^}:]*)(?::-([^}]*))?\}/g,
    (_, name: string, fallback?: string) => lookup(name) ?? fallback ?? '',
  );
}
