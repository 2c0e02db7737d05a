import { randomBytes } from 'node:crypto';

/** Text gathered before a chunk is handed on. */
const CHUNK = 1 << 18;

/**
 * A value as pretty-printed JSON — exactly what `JSON.stringify(value, null, 2)` gives with every
 * list written as an array — in chunks. A list that is not an array (a `SpillingList`, a plan's
 * workflow list) is written one entry at a time, so a report or export of a million rows is never
 * held whole in memory. Such lists may sit anywhere in the value, but not inside one another.
 */
export function* prettyJsonChunks(value: unknown): Generator<string> {
  const lists: Iterable<unknown>[] = [];
  // A mark no stored text can hold: it names the place of each list in the rest of the JSON.
  const nonce = randomBytes(8).toString('hex');
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (!isStreamedList(v)) return v;
      lists.push(v);
      return `\u0000${nonce} ${lists.length - 1}\u0000`;
    },
    2,
  );
  const parts = text.split(new RegExp(`"\\\\u0000${nonce} (\\d+)\\\\u0000"`));
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) {
      out += parts[i];
      continue;
    }
    // The list's own line sets its indentation; its entries go one step deeper.
    const indent = /^ */.exec(out.slice(out.lastIndexOf('\n') + 1))![0];
    const entryIndent = `${indent}  `;
    let first = true;
    for (const entry of lists[Number(parts[i])]!) {
      const json = JSON.stringify(entry, null, 2) ?? 'null';
      out += `${first ? '[\n' : ',\n'}${entryIndent}${json.replaceAll('\n', `\n${entryIndent}`)}`;
      first = false;
      if (out.length >= CHUNK) {
        yield out;
        out = '';
      }
    }
    out += first ? '[]' : `\n${indent}]`;
  }
  yield out;
}

/** A list to stream: iterable, but not an array (which `JSON.stringify` writes itself) nor a string. */
function isStreamedList(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Symbol.iterator in value;
}
