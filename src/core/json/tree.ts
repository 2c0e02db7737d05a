/**
 * A JSON value as the exact parser reads it: every node keeps its place in the source text, so
 * that numbers keep their literal and untouched parts can be copied byte for byte.
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

/** How a value's kind is named in a reason: "a boolean", "an object", "null". */
export function describeKind(node: JsonNode): string {
  if (node.kind === 'true' || node.kind === 'false') return 'a boolean';
  if (node.kind === 'null') return 'null';
  return `${/^[aeiou]/.test(node.kind) ? 'an' : 'a'} ${node.kind}`;
}
