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

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** A container being read, and (in an object) the key whose value comes next. */
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
  return new Parser(text).parse();
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

/** One parse of one text: where it is, and the containers open there, innermost last. */
class Parser {
  private pos = 0;
  private readonly stack: Frame[] = [];
  private root: JsonNode | undefined;
  // Sticky patterns (they match at `lastIndex` only), so each parse has its own.
  private readonly number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  /** Python's json module also reads and writes these three. */
  private readonly pySpecial = /-?Infinity|NaN/y;

  constructor(private readonly text: string) {}

  parse(): JsonNode {
    for (;;) {
      const scalar = this.readValue();
      if (scalar) this.attach(scalar);
      else if (this.beforeElement(true)) continue; // a container opened: go read its first element
      if (!this.afterElement()) break; // the root is complete
      this.beforeElement(false);
    }
    this.ws();
    if (this.pos !== this.text.length) this.fail('unexpected text after the value');
    return this.root as JsonNode;
  }

  private ws(): void {
    const text = this.text;
    let pos = this.pos;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.pos = pos;
  }

  private fail(what: string): never {
    throw new JsonSyntaxError(this.pos >= this.text.length ? 'unexpected end of text' : what, this.pos);
  }

  /** The string at `pos` (its opening quote), decoded; `pos` is then after its closing quote. */
  private readString(): string {
    const text = this.text;
    this.pos++; // opening quote
    let out = '';
    let chunk = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail('unterminated string');
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += text.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(chunk, this.pos);
        out += this.readEscape();
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  /** The escape at `pos` (its backslash), decoded; `pos` is then after it. */
  private readEscape(): string {
    const e = this.text[this.pos + 1];
    if (e === 'u') {
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
      this.pos += 6;
      return String.fromCharCode(parseInt(hex, 16));
    }
    if (e !== undefined && e in ESCAPES) {
      this.pos += 2;
      return ESCAPES[e] as string;
    }
    return this.fail('bad escape');
  }

  /** Reads one scalar or opens a container; returns the finished scalar, or undefined. */
  private readValue(): JsonNode | undefined {
    this.ws();
    const text = this.text;
    const start = this.pos;
    const c = text[start];
    if (c === '{' || c === '[') {
      this.pos++;
      const node: JsonObject | JsonArray =
        c === '{' ? { kind: 'object', start, end: -1, entries: [] } : { kind: 'array', start, end: -1, items: [] };
      this.stack.push({ node });
      return undefined;
    }
    if (c === '"') {
      const value = this.readString();
      return { kind: 'string', start, end: this.pos, value };
    }
    for (const word of ['true', 'false', 'null'] as const) {
      if (text.startsWith(word, start)) {
        this.pos += word.length;
        return { kind: word, start, end: this.pos, value: word };
      }
    }
    for (const re of [this.number, this.pySpecial]) {
      re.lastIndex = start;
      const m = re.exec(text);
      if (m) {
        this.pos += m[0].length;
        return { kind: 'number', start, end: this.pos, value: m[0] };
      }
    }
    return this.fail('unexpected character');
  }

  /** Attaches a finished value to its parent (or makes it the root). */
  private attach(node: JsonNode): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) this.root = node;
    else if (top.node.kind === 'array') top.node.items.push(node);
    else {
      top.node.entries.push({ key: top.pendingKey as string, keyStart: top.pendingKeyStart as number, node });
      top.pendingKey = undefined;
    }
  }

  /** Closes the innermost container (`pos` at its bracket) and attaches it. */
  private close(top: Frame): void {
    this.pos++;
    top.node.end = this.pos;
    this.stack.pop();
    this.attach(top.node);
  }

  /** After a value inside a container: a comma (then the next element) or the closing bracket. */
  private afterElement(): boolean {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) return false;
      this.ws();
      const close = top.node.kind === 'array' ? ']' : '}';
      if (this.text[this.pos] === ',') {
        this.pos++;
        return true;
      }
      if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
      this.close(top);
    }
  }

  /** At the start of a container's element: handles empty containers and object keys. */
  private beforeElement(allowClose: boolean): boolean {
    const top = this.stack[this.stack.length - 1];
    if (!top) return true;
    this.ws();
    const close = top.node.kind === 'array' ? ']' : '}';
    if (allowClose && this.text[this.pos] === close) {
      this.close(top);
      return false;
    }
    if (top.node.kind === 'object') {
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      top.pendingKeyStart = this.pos;
      top.pendingKey = this.readString();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
    }
    return true;
  }
}
