/**
 * The allocation-free scanner: checks that a text is JSON and finds where some of its members
 * are, without building any value. What it does not settle is left to the exact parser.
 */
import type { JsonNode } from './tree.js';

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
