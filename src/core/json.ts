/**
 * Lossless JSON: a parser that keeps every value's place in the source text (so numbers keep
 * their literal and untouched parts can be copied byte for byte), a writer in the style of
 * Python's `json.dumps` (what the controller writes), and a canonical form for comparing values.
 */

export type JsonNode = JsonObject | JsonArray | JsonScalar;

/** An object; `entries` keeps duplicate keys in source order (the last one wins on lookup). */
export interface JsonObject {
  kind: 'object';
  start: number;
  end: number;
  entries: JsonEntry[];
}

/** One member of an object: its key, where the key's quote starts, and its value. */
export interface JsonEntry {
  key: string;
  keyStart: number;
  node: JsonNode;
}

export interface JsonArray {
  kind: 'array';
  start: number;
  end: number;
  items: JsonNode[];
}

/** A string, number, boolean or null; numbers are kept as their literal text. */
export interface JsonScalar {
  kind: 'string' | 'number' | 'true' | 'false' | 'null';
  start: number;
  end: number;
  /** The decoded string for `string`, the literal for `number`. */
  value: string;
}

/** Thrown for text that is not JSON; `offset` is where parsing stopped. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** Python's json module also reads and writes these three. */
const PY_SPECIAL = /-?Infinity|NaN/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

interface Frame {
  node: JsonObject | JsonArray;
  pendingKey?: string;
  pendingKeyStart?: number;
}

/**
 * Parses JSON text into nodes that carry their source offsets. Iterative, so nesting depth is
 * bounded by memory, not by the call stack. Accepts `NaN`/`Infinity` as Python writes them.
 */
export function parseJson(text: string): JsonNode {
  let pos = 0;
  const stack: Frame[] = [];
  let root: JsonNode | undefined;

  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(pos >= text.length ? 'unexpected end of text' : what, pos);
  };

  const readString = (): string => {
    pos++; // opening quote
    let out = '';
    let chunk = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunk, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(chunk, pos);
        const e = text[pos + 1];
        if (e === 'u') {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e];
          pos += 2;
        } else {
          fail('bad escape');
        }
        chunk = pos;
        continue;
      }
      pos++;
    }
  };

  /** Reads one scalar or opens a container; returns the finished scalar, or undefined. */
  const readValue = (): JsonNode | undefined => {
    ws();
    const start = pos;
    const c = text[pos];
    if (c === '{') {
      pos++;
      stack.push({ node: { kind: 'object', start, end: -1, entries: [] } });
      return undefined;
    }
    if (c === '[') {
      pos++;
      stack.push({ node: { kind: 'array', start, end: -1, items: [] } });
      return undefined;
    }
    if (c === '"') {
      const value = readString();
      return { kind: 'string', start, end: pos, value };
    }
    for (const word of ['true', 'false', 'null'] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return { kind: word, start, end: pos, value: word };
      }
    }
    for (const re of [NUMBER, PY_SPECIAL]) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (m) {
        pos += m[0].length;
        return { kind: 'number', start, end: pos, value: m[0] };
      }
    }
    return fail('unexpected character');
  };

  /** Attaches a finished value to its parent (or makes it the root). */
  const attach = (node: JsonNode) => {
    const top = stack[stack.length - 1];
    if (!top) root = node;
    else if (top.node.kind === 'array') top.node.items.push(node);
    else {
      top.node.entries.push({ key: top.pendingKey as string, keyStart: top.pendingKeyStart as number, node });
      top.pendingKey = undefined;
    }
  };

  /** After a value inside a container: a comma (then the next element) or the closing bracket. */
  const afterElement = (): boolean => {
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return false;
      ws();
      const close = top.node.kind === 'array' ? ']' : '}';
      if (text[pos] === ',') {
        pos++;
        return true;
      }
      if (text[pos] !== close) fail(`expected ',' or '${close}'`);
      pos++;
      top.node.end = pos;
      stack.pop();
      attach(top.node);
    }
  };

  /** At the start of a container's element: handles empty containers and object keys. */
  const beforeElement = (allowClose: boolean): boolean => {
    const top = stack[stack.length - 1];
    if (!top) return true;
    ws();
    const close = top.node.kind === 'array' ? ']' : '}';
    if (allowClose && text[pos] === close) {
      pos++;
      top.node.end = pos;
      stack.pop();
      attach(top.node);
      return false;
    }
    if (top.node.kind === 'object') {
      if (text[pos] !== '"') fail('expected a string key');
      top.pendingKeyStart = pos;
      top.pendingKey = readString();
      ws();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
    }
    return true;
  };

  for (;;) {
    const scalar = readValue();
    if (scalar) attach(scalar);
    else if (beforeElement(true)) continue; // a container opened: go read its first element
    if (!afterElement()) break; // the root is complete
    beforeElement(false);
  }
  ws();
  if (pos !== text.length) fail('unexpected text after the value');
  return root as JsonNode;
}

/** Parses, returning the error message instead of throwing. */
export function tryParseJson(text: string): { node: JsonNode } | { error: string } {
  try {
    return { node: parseJson(text) };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { error: e.message };
    throw e;
  }
}

/** The value of `key` in an object node as Python reads it (the last duplicate wins). */
export function getMember(obj: JsonObject, key: string): JsonNode | undefined {
  for (let i = obj.entries.length - 1; i >= 0; i--) {
    const entry = obj.entries[i] as { key: string; node: JsonNode };
    if (entry.key === key) return entry.node;
  }
  return undefined;
}

/** The exact source text of a node. */
export function sourceOf(text: string, node: JsonNode): string {
  return text.slice(node.start, node.end);
}

/** A string literal as Python's `json.dumps` writes it (ensure_ascii: non-ASCII as \uXXXX). */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

/** How a value is written: strings, numbers, separators, and whether keys are sorted. */
interface JsonStyle {
  string(s: string): string;
  number(literal: string): string;
  comma: string;
  colon: string;
  sortKeys: boolean;
}

/**
 * Writes a value in a style. A repeated key appears once, with its last value, at its first
 * place (as Python's dict reads it) unless keys are sorted. Iterative, like the parser.
 */
function writeJson(node: JsonNode, style: JsonStyle): string {
  type Task = { node: JsonNode } | { literal: string };
  const out: string[] = [];
  const todo: Task[] = [{ node }];
  const push = (parts: Task[]) => {
    for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i] as Task);
  };
  while (todo.length > 0) {
    const task = todo.pop() as Task;
    if ('literal' in task) {
      out.push(task.literal);
      continue;
    }
    const n = task.node;
    if (n.kind === 'string') out.push(style.string(n.value));
    else if (n.kind === 'number') out.push(style.number(n.value));
    else if (n.kind === 'array') {
      const parts: Task[] = [{ literal: '[' }];
      n.items.forEach((item, i) => parts.push(...(i > 0 ? [{ literal: style.comma }] : []), { node: item }));
      push([...parts, { literal: ']' }]);
    } else if (n.kind === 'object') {
      const last = new Map<string, JsonNode>();
      for (const e of n.entries) last.set(e.key, e.node); // a Map keeps the first insertion's place
      const keys = style.sortKeys ? [...last.keys()].sort(compareCodePoints) : [...last.keys()];
      const parts: Task[] = [{ literal: '{' }];
      keys.forEach((key, i) =>
        parts.push(
          { literal: `${i > 0 ? style.comma : ''}${style.string(key)}${style.colon}` },
          { node: last.get(key) as JsonNode },
        ),
      );
      push([...parts, { literal: '}' }]);
    } else out.push(n.kind);
  }
  return out.join('');
}

/**
 * A value written as Python's `json.dumps` writes what `json.loads` read from it: `", "` and
 * `": "` separators, strings with `\\uXXXX` escapes, a repeated key once (at its first place, with
 * its last value), and every number literal exactly as it was.
 */
export function pyJsonDumps(node: JsonNode): string {
  return writeJson(node, {
    string: pyJsonString,
    number: (literal) => literal,
    comma: ', ',
    colon: ': ',
    sortKeys: false,
  });
}

/** {@link pyJsonDumps} of a node parsed from `text`, copying its source where that is the same. */
export function pyJsonDumpsFrom(text: string, node: JsonNode): string {
  if (node.kind === 'number' || node.kind === 'true' || node.kind === 'false' || node.kind === 'null')
    return node.value;
  return isPyFormSpan(text, node.start, node.end) ? text.slice(node.start, node.end) : pyJsonDumps(node);
}

/** A number literal in a canonical form, so that `1`, `1.0` and `1e0` compare equal (as in Python). */
export function canonicalNumber(literal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return literal; // NaN, Infinity
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = (int + frac).replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = BigInt(exp) - BigInt(frac.length);
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  return `${sign}${digits}e${exponent}`;
}

/**
 * A canonical text of a value for equality: object keys deduplicated (last wins) and sorted by
 * code point, numbers canonical, no whitespace.
 */
export function canonicalJson(node: JsonNode): string {
  return writeJson(node, {
    string: (s) => JSON.stringify(s),
    number: canonicalNumber,
    comma: ',',
    colon: ':',
    sortKeys: true,
  });
}

/** Compares two strings by Unicode code point (not UTF-16 unit, not locale). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800-0xDFFF) encodes a code point above 0xFFFF, so it sorts after 0xE000-0xFFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? (y >= 0xe000 ? 1 : x - y) : x >= 0xe000 ? -1 : x - y;
    return x - y;
  }
  return a.length - b.length;
}

/** One top-level member of an object, as {@link quickMembers} finds it: no value is built. */
export interface QuickMember {
  key: string;
  kind: JsonNode['kind'];
  /** Where the value's text starts and ends. */
  start: number;
  end: number;
  /** For a string: whether its text has an escape (so the raw text is not its value). */
  escaped: boolean;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/**
 * Checks that a text is one JSON object, and lists its top-level members (those of `wanted`
 * keys only, when given), without building any value. Returns undefined for anything else — a
 * syntax error, but also Python's NaN/Infinity or an escaped key — which the exact parser
 * ({@link parseJson}) then reads; so this never accepts what the exact parser rejects.
 */
export function quickMembers(text: string, wanted?: ReadonlySet<string>): QuickMember[] | undefined {
  const count = scanMembers(text, wanted);
  return count < 0 ? undefined : scannedMembers.slice(0, count).map((m) => ({ ...m }));
}

/**
 * {@link quickMembers} that allocates nothing, for the quick check of every step row: returns how
 * many members it found (-1 for a text it does not settle), which are then
 * `scannedMembers[0, count)`. Those records are reused by the next call: read them before it.
 * `from` and `to` scan a part of the text (a value inside it) instead of the whole. The list of
 * `wanted` keys is kept per set: a set must not change once used.
 */
export function scanMembers(text: string, wanted?: ReadonlySet<string>, from = 0, to = text.length): number {
  setWanted(wanted);
  const end = objectAt(text, skipWs(text, from, to), to);
  return end < 0 || skipWs(text, end, to) !== to ? -1 : memberCount;
}

function setWanted(wanted: ReadonlySet<string> | undefined): void {
  if (wanted === wantSet) return;
  wantSet = wanted;
  want = wanted === undefined ? undefined : wantLists.get(wanted);
  if (wanted !== undefined && want === undefined) wantLists.set(wanted, (want = [...wanted]));
}

/**
 * The object at `p` (its `{`): its end (after `}`), or -1. Its members of the wanted keys are then
 * `scannedMembers[0, memberCount)`, and its bounds in `scannedObject`.
 */
function objectAt(text: string, p: number, n: number): number {
  if (text.charCodeAt(p) !== 0x7b) return -1;
  const objectStart = p;
  let lastValueEnd = -1;
  let count = 0;
  p = skipWs(text, p + 1, n);
  if (text.charCodeAt(p) === 0x7d) p++;
  else {
    for (;;) {
      const keyStart = p;
      if (text.charCodeAt(p) !== 0x22) return -1;
      p = skipString(text, p, n);
      if (p < 0 || escaped) return -1;
      const key = want === undefined ? text.slice(keyStart + 1, p - 1) : wantedKey(text, keyStart + 1, p - 1);
      p = skipWs(text, p, n);
      if (text.charCodeAt(p) !== 0x3a) return -1;
      const start = skipWs(text, p + 1, n);
      p = skipValue(text, start, n);
      if (p < 0) return -1;
      lastValueEnd = p;
      if (key !== undefined) {
        const m = (found[count++] ??= { key: '', kind: 'null', start: 0, end: 0, escaped: false });
        m.key = key;
        m.kind = kind;
        m.start = start;
        m.end = p;
        m.escaped = kind === 'string' && escaped;
      }
      p = skipWs(text, p, n);
      const next = text.charCodeAt(p++);
      if (next === 0x7d) break;
      if (next !== 0x2c) return -1;
      p = skipWs(text, p, n);
    }
  }
  memberCount = count;
  scannedObject.start = objectStart;
  scannedObject.end = p;
  scannedObject.lastValueEnd = lastValueEnd;
  return p;
}

/** An element of an array, as {@link scanItems} finds it; for an object, its last member of a wanted key. */
export interface ScannedItem {
  kind: JsonNode['kind'];
  start: number;
  end: number;
  /** The object's last member of a wanted key (the one that counts, as in Python), if any. */
  member: { kind: JsonNode['kind']; start: number; end: number; escaped: boolean } | undefined;
}

/**
 * Lists the elements of the array `text[start, end)` (a span {@link scanMembers} found) without
 * building them, with the last member of a `wanted` key of each object: returns their count
 * (-1 for one it does not settle), the elements being then `scannedItems[0, count)`, reused by the
 * next call.
 */
export function scanItems(text: string, start: number, end: number, wanted: ReadonlySet<string>): number {
  setWanted(wanted);
  let p = skipWs(text, start, end);
  if (text.charCodeAt(p) !== 0x5b) return -1;
  let count = 0;
  p = skipWs(text, p + 1, end);
  if (text.charCodeAt(p) === 0x5d) p++;
  else {
    for (;;) {
      const from = p;
      const item = (items[count++] ??= { kind: 'null', start: 0, end: 0, member: undefined });
      item.member = undefined;
      if (text.charCodeAt(p) === 0x7b) {
        p = objectAt(text, p, end);
        if (p < 0) return -1;
        item.kind = 'object';
        const last = memberCount > 0 ? (found[memberCount - 1] as QuickMember) : undefined;
        if (last !== undefined) {
          const m = (itemMembers[count - 1] ??= { kind: 'null', start: 0, end: 0, escaped: false });
          m.kind = last.kind;
          m.start = last.start;
          m.end = last.end;
          m.escaped = last.escaped;
          item.member = m;
        }
      } else {
        p = skipValue(text, p, end);
        if (p < 0) return -1;
        item.kind = kind;
      }
      item.start = from;
      item.end = p;
      p = skipWs(text, p, end);
      const next = text.charCodeAt(p++);
      if (next === 0x5d) break;
      if (next !== 0x2c) return -1;
      p = skipWs(text, p, end);
    }
  }
  return skipWs(text, p, end) === end ? count : -1;
}

/** The elements the last {@link scanItems} found (only the first `count` are its own). */
export const scannedItems: readonly ScannedItem[] = [];
const items = scannedItems as ScannedItem[];
const itemMembers: NonNullable<ScannedItem['member']>[] = [];

/** The members the last {@link scanMembers} found (only the first `count` are its own). */
export const scannedMembers: readonly QuickMember[] = [];

/**
 * Where the object of the last {@link scanMembers} that found one is in its text: its braces
 * (`start` at `{`, `end` after `}`) and the end of its last member's value (-1 for `{}`).
 */
export const scannedObject = { start: 0, end: 0, lastValueEnd: -1 };

// The scanner works on positions passed in and returned (-1: not settled); what else a step
// finds is left here. Module-level, so that a call allocates nothing.
/** Whether the last string skipped had an escape (so its raw text is not its value). */
let escaped = false;
/** The kind of the last value skipped. */
let kind: JsonNode['kind'] = 'null';
/** How many members of the wanted keys the last object had. */
let memberCount = 0;
let wantSet: ReadonlySet<string> | undefined;
let want: string[] | undefined;
const wantLists = new WeakMap<ReadonlySet<string>, string[]>();
/** The closing brackets of the containers open in {@link skipValue}, innermost last (reused). */
const closers: number[] = [];
const found = scannedMembers as QuickMember[];

function skipWs(t: string, p: number, n: number): number {
  while (p < n) {
    const c = t.charCodeAt(p);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else break;
  }
  return p;
}

/** A string from its opening quote to after its closing one; sets `escaped`. */
function skipString(t: string, p: number, n: number): number {
  let sawEscape = false;
  for (p++; p < n;) {
    const c = t.charCodeAt(p);
    if (c === 0x22) {
      escaped = sawEscape;
      return p + 1;
    }
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      sawEscape = true;
      const e = t.charCodeAt(p + 1);
      if (e === 0x75) {
        if (!(
          isHex(t.charCodeAt(p + 2)) &&
          isHex(t.charCodeAt(p + 3)) &&
          isHex(t.charCodeAt(p + 4)) &&
          isHex(t.charCodeAt(p + 5))
        ))
          return -1;
        p += 6;
      } else if (
        e === 0x22 ||
        e === 0x5c ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      )
        p += 2;
      else return -1;
      continue;
    }
    p++;
  }
  return -1;
}

function skipDigits(t: string, p: number): number {
  if (!isDigit(t.charCodeAt(p))) return -1;
  while (isDigit(t.charCodeAt(p))) p++;
  return p;
}

function skipNumber(t: string, p: number): number {
  if (t.charCodeAt(p) === 0x2d) p++;
  if (t.charCodeAt(p) === 0x30) p++;
  else if ((p = skipDigits(t, p)) < 0) return -1;
  if (t.charCodeAt(p) === 0x2e && (p = skipDigits(t, p + 1)) < 0) return -1;
  const e = t.charCodeAt(p);
  if (e === 0x65 || e === 0x45) {
    p++;
    const sign = t.charCodeAt(p);
    if (sign === 0x2b || sign === 0x2d) p++;
    return skipDigits(t, p);
  }
  return p;
}

/** A scalar at `p`: its end (and `kind`), or -1 when there is none. */
function skipScalar(t: string, p: number, n: number): number {
  const c = t.charCodeAt(p);
  if (c === 0x22) {
    kind = 'string';
    return skipString(t, p, n);
  }
  if (c === 0x74 && t.startsWith('true', p)) {
    kind = 'true';
    return p + 4;
  }
  if (c === 0x66 && t.startsWith('false', p)) {
    kind = 'false';
    return p + 5;
  }
  if (c === 0x6e && t.startsWith('null', p)) {
    kind = 'null';
    return p + 4;
  }
  kind = 'number';
  return skipNumber(t, p);
}

/** A value at `p`, nested containers included (iteratively): its end (and `kind`), or -1. */
function skipValue(t: string, p: number, n: number): number {
  const first = t.charCodeAt(p);
  if (first !== 0x7b && first !== 0x5b) return skipScalar(t, p, n);
  let depth = 0;
  closers[depth++] = first === 0x7b ? 0x7d : 0x5d;
  let opened = true;
  p++;
  for (;;) {
    const close = closers[depth - 1] as number;
    p = skipWs(t, p, n);
    if (opened && t.charCodeAt(p) === close) {
      p++;
      depth--;
    } else {
      if (close === 0x7d) {
        if (t.charCodeAt(p) !== 0x22 || (p = skipString(t, p, n)) < 0) return -1;
        p = skipWs(t, p, n);
        if (t.charCodeAt(p) !== 0x3a) return -1;
        p = skipWs(t, p + 1, n);
      }
      const c = t.charCodeAt(p);
      if (c === 0x7b || c === 0x5b) {
        closers[depth++] = c === 0x7b ? 0x7d : 0x5d;
        p++;
        opened = true;
        continue;
      }
      if ((p = skipScalar(t, p, n)) < 0) return -1;
    }
    // After an element (or a closed container): a comma, or closing brackets.
    for (;;) {
      if (depth === 0) {
        kind = first === 0x7b ? 'object' : 'array';
        return p;
      }
      p = skipWs(t, p, n);
      const c = t.charCodeAt(p);
      if (c === 0x2c) {
        p++;
        opened = false;
        break;
      }
      if (c !== closers[depth - 1]) return -1;
      p++;
      depth--;
    }
  }
}

/** The wanted key that t[from, to) spells, if any (compared in place: no string is made). */
function wantedKey(t: string, from: number, to: number): string | undefined {
  const length = to - from;
  for (const key of want as string[]) {
    if (key.length !== length) continue;
    let j = 0;
    while (j < length && key.charCodeAt(j) === t.charCodeAt(from + j)) j++;
    if (j === length) return key;
  }
  return undefined;
}

/**
 * Whether the text of a value, `text[start, end)`, is already exactly what {@link pyJsonDumps}
 * writes for it: `", "` and `": "` separators and no other whitespace, strings of printable
 * ASCII with Python's escapes, no repeated key in any object. The controller writes specs with
 * `json.dumps`, so this is the common case, and copying the text is much cheaper than writing it
 * again. Checked on the text alone; an escaped key makes it answer no (the writer then decides),
 * so two spellings of one key are never taken for two keys.
 */
export function isPyFormSpan(text: string, start: number, end: number): boolean {
  // The open containers are pyFrames[0, depth), innermost last: -1 for an array, else where the
  // object's keys start in pyKeys, which holds the keys of every open object as (start, end) offsets.
  let depth = 0;
  let keyEnd = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const from = i;
      let plain = true;
      for (i++; ; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x22) break;
        if (d < 0x20 || d > 0x7e) return false;
        if (d === 0x5c) {
          plain = false;
          const e = text.charCodeAt(i + 1);
          if (e === 0x75) {
            const hex = text.slice(i + 2, i + 6);
            const code = parseInt(hex, 16);
            if (
              hex !== hex.toLowerCase() ||
              (code >= 0x20 && code <= 0x7e) ||
              code === 8 ||
              code === 9 ||
              code === 10 ||
              code === 12 ||
              code === 13
            )
              return false;
            i += 5;
          } else if (e === 0x22 || e === 0x5c || e === 0x6e || e === 0x72 || e === 0x74 || e === 0x62 || e === 0x66)
            i++;
          else return false;
        }
      }
      const keysFrom = depth > 0 ? (pyFrames[depth - 1] as number) : -1;
      if (keysFrom >= 0 && text.charCodeAt(i + 1) === 0x3a) {
        if (!plain) return false;
        const length = i - from - 1;
        for (let k = keysFrom; k < keyEnd; k += 2) {
          const at = pyKeys[k] as number;
          if ((pyKeys[k + 1] as number) - at === length && sameText(text, at, from + 1, length)) return false;
        }
        pyKeys[keyEnd++] = from + 1;
        pyKeys[keyEnd++] = i;
      }
    } else if (c === 0x7b) pyFrames[depth++] = keyEnd;
    else if (c === 0x5b) pyFrames[depth++] = -1;
    else if (c === 0x7d || c === 0x5d) {
      if (depth > 0) {
        const keysFrom = pyFrames[--depth] as number;
        if (keysFrom >= 0) keyEnd = keysFrom;
      }
    } else if (c === 0x2c || c === 0x3a) {
      if (text.charCodeAt(i + 1) !== 0x20) return false;
      i++;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return false;
  }
  return true;
}

// isPyFormSpan's stacks, reused by every call.
const pyFrames: number[] = [];
const pyKeys: number[] = [];

/** Whether text[a, a+length) and text[b, b+length) are the same. */
function sameText(text: string, a: number, b: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (text.charCodeAt(a + j) !== text.charCodeAt(b + j)) return false;
  return true;
}
