/**
 * `db.db_url` of the controller's YAML config (`CTRL_CONFIG_PATH`), read without a YAML library:
 * the one value is found by its indentation. What it understands: comments, a leading `---`,
 * `db:` at the top level holding a block mapping (`db_url:` one level in) or a flow mapping
 * (`db: {db_url: "…"}`), and a `db_url` written plain, in single quotes ('' for ') or in double
 * quotes (backslash escapes). Anything else on the way to that value (anchors, aliases, tags,
 * block or multi-line scalars, tabs) is refused with a reason, never guessed at.
 */
export type YamlDbUrl =
  | { kind: 'url'; url: string }
  | { kind: 'no-db' } // no top-level `db:`: the controller uses its default
  | { kind: 'no-db-url' }; // `db:` without `db_url`: the controller cannot start

/** Thrown when the config holds `db.db_url` in a form the tool does not read; the message says which. */
export class YamlSubsetError extends Error {}

interface Line {
  indent: number;
  text: string;
  number: number;
}

export function readDbUrl(text: string): YamlDbUrl {
  const lines = contentLines(text);
  // PyYAML keeps the last of a repeated key.
  const at = lastIndex(lines, (l) => l.indent === 0 && keyOf(l.text)?.key === 'db');
  if (at === -1) return { kind: 'no-db' };
  const head = lines[at]!;
  const inline = keyOf(head.text)!.rest;
  if (inline !== '' && !inline.startsWith('#')) return fromFlow(inline, head.number);
  const body: Line[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.indent === 0) break;
    body.push(l);
  }
  if (body.length === 0) return { kind: 'no-db-url' };
  const indent = body[0]!.indent;
  const index = lastIndex(body, (l) => l.indent === indent && keyOf(l.text)?.key === 'db_url');
  if (index === -1) return { kind: 'no-db-url' };
  const line = body[index]!;
  const next = body[index + 1];
  if (next !== undefined && next.indent > indent) {
    throw new YamlSubsetError(`line ${line.number}: db_url goes on over several lines; write it on one line`);
  }
  return scalar(keyOf(line.text)!.rest, line.number);
}

function lastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

/** The lines that hold something: no blank lines, no comment lines, no `---` or `%` directives. */
function contentLines(text: string): Line[] {
  const out: Line[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r\n?|\n/)
    .forEach((raw, i) => {
      const text = raw.trimStart();
      if (text === '' || text.startsWith('#') || raw.startsWith('%') || /^---\s*$/.test(raw)) return;
      const lead = raw.slice(0, raw.length - text.length);
      if (lead.includes('\t')) throw new YamlSubsetError(`line ${i + 1}: a tab in the indentation`);
      out.push({ indent: lead.length, text: text.trimEnd(), number: i + 1 });
    });
  return out;
}

/** `key: rest` (the key plain or quoted), the rest as written (comment included). */
function keyOf(text: string): { key: string; rest: string } | undefined {
  const m = /^(?:"([^"\\]*)"|'([^']*)'|([^\s#'"{[&*!|>-][^:#]*?))\s*:(?:\s+|$)(.*)$/.exec(text);
  if (!m) return undefined;
  return { key: m[1] ?? m[2] ?? m[3]!, rest: m[4]!.trim() };
}

/** `{db_url: …, verbose: true}` on one line. */
function fromFlow(written: string, number: number): YamlDbUrl {
  const text = written.replace(/\}\s+#.*$/, '}');
  if (!text.startsWith('{') || !text.endsWith('}')) {
    throw new YamlSubsetError(`line ${number}: db is not a mapping the tool can read (write db: and db_url: below it)`);
  }
  let url: YamlDbUrl = { kind: 'no-db-url' };
  for (const entry of splitFlow(text.slice(1, -1), number)) {
    const m = /^(?:"([^"\\]*)"|'([^']*)'|([^\s:'"]+))\s*:\s+(.*)$/s.exec(entry.trim());
    if ((m?.[1] ?? m?.[2] ?? m?.[3]) === 'db_url') url = scalar(m![4]!.trim(), number);
  }
  return url;
}

/** Splits a flow mapping's inside at the commas that are not in quotes. */
function splitFlow(text: string, number: number): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === '"' && c === '\\') i++;
    else if (quote !== undefined && c === quote) quote = undefined;
    else if (quote === undefined && (c === '"' || c === "'")) quote = c;
    else if (quote === undefined && (c === '{' || c === '[')) {
      throw new YamlSubsetError(`line ${number}: a nested collection inside db: {…}; write db as a block`);
    } else if (quote === undefined && c === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.trim() !== '');
}

/** A scalar value: plain, 'single' or "double" quoted; null (`~`, `null`, nothing) is no value. */
function scalar(written: string, number: number): YamlDbUrl {
  const quoted = /^"((?:[^"\\]|\\.)*)"|^'((?:[^']|'')*)'/s.exec(written);
  if (quoted) {
    if (!/^\s*(#.*)?$/.test(written.slice(quoted[0].length))) {
      throw new YamlSubsetError(`line ${number}: something follows the quoted db_url`);
    }
    return { kind: 'url', url: quoted[2] !== undefined ? quoted[2].replace(/''/g, "'") : unescapeDouble(quoted[1]!) };
  }
  const text = written.replace(/(^|\s+)#.*$/, '').trim();
  if (text === '' || /^(~|null|Null|NULL)$/.test(text)) return { kind: 'no-db-url' };
  if (/^[&*!|>"'{[@`%]/.test(text)) {
    throw new YamlSubsetError(
      `line ${number}: db_url is written as ${JSON.stringify(text[0])}… (an anchor, alias, tag, block scalar or ` +
        'unclosed quote); write it as a plain or quoted string',
    );
  }
  return { kind: 'url', url: text };
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '"': '"', '\\': '\\', '/': '/' };

function unescapeDouble(text: string): string {
  return text.replace(/\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e: string) =>
    e.length > 1 ? String.fromCodePoint(parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e),
  );
}
