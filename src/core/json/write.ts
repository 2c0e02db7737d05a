/**
 * The JSON writer: a value written as Python's `json.dumps` writes it (what the controller
 * writes), and a canonical form for comparing values.
 */
import { compareCodePoints } from '../code-points.js';
import type { PyFormChecker } from './py-form.js';
import type { JsonNode } from './tree.js';

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

/**
 * {@link pyJsonDumps} of a node parsed from `text`, copying its source where that is the same
 * (as `pyForm` tells).
 */
export function pyJsonDumpsFrom(text: string, node: JsonNode, pyForm: PyFormChecker): string {
  if (node.kind === 'number' || node.kind === 'true' || node.kind === 'false' || node.kind === 'null')
    return node.value;
  return pyForm.isPyForm(text, node.start, node.end) ? text.slice(node.start, node.end) : pyJsonDumps(node);
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
