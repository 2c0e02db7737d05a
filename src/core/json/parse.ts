/**
 * The exact JSON parser: builds every value, keeping its place in the source text (see ./tree.ts),
 * and reads what Python's json module reads (NaN and Infinity included).
 */
import type { JsonArray, JsonNode, JsonObject } from './tree.js';

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
