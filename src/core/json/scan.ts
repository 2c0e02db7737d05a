/**
 * The scanner: checks that a text is JSON and finds where some of its members are, without
 * building any value. It runs over every spec of a run, so a scan allocates nothing. What it does
 * not settle is left to the exact parser (./parse.ts), so it never accepts what that one rejects.
 */
import type { JsonNode } from './tree.js';

type Kind = JsonNode['kind'];

/** A value as the scanner finds it: its kind and where its text is; no value is built. */
export interface ScannedValue {
  kind: Kind;
  /** Where the value's text starts and ends. */
  start: number;
  end: number;
  /** For a string: whether its text has an escape (so the raw text is not its value). */
  escaped: boolean;
}

/** One top-level member of an object, as {@link JsonScanner.scanMembers} finds it. */
export interface ScannedMember extends ScannedValue {
  key: string;
}

/** An element of an array, as {@link JsonScanner.scanItems} finds it; for an object, its last member of a wanted key. */
export interface ScannedItem {
  kind: Kind;
  start: number;
  end: number;
  /** The object's last member of a wanted key (the one that counts, as in Python), if any. */
  member: ScannedValue | undefined;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/**
 * Checks that a text is one JSON object, and lists its top-level members (those of `wanted`
 * keys only, when given), without building any value. Returns undefined for anything else — a
 * syntax error, but also Python's NaN/Infinity or an escaped key — which the exact parser
 * then reads. Allocates its answer: the common rows are read by a {@link JsonScanner} instead.
 */
export function quickMembers(text: string, wanted?: ReadonlySet<string>): ScannedMember[] | undefined {
  const scanner = new JsonScanner();
  const count = scanner.scanMembers(text, wanted);
  return count < 0 ? undefined : scanner.members.slice(0, count).map((m) => ({ ...m }));
}

/**
 * A scanner and the records of what its last scan found. The records are reused by its next scan
 * (read them before), which is why a scan allocates nothing; each reader of specs owns its own
 * scanner, so that two readers never overwrite each other's records.
 *
 * A scan works on positions passed in and returned (-1: not settled); what else a step finds (the
 * kind of the value skipped, whether a string had an escape) is left in the scanner's fields.
 */
export class JsonScanner {
  /** The members the last {@link scanMembers} found: the first `count` it returned are its own. */
  readonly members: readonly ScannedMember[];
  /** The elements the last {@link scanItems} found: the first `count` it returned are its own. */
  readonly items: readonly ScannedItem[];
  /**
   * Where the object of the last {@link scanMembers} that found one is in its text: its braces
   * (`start` at `{`, `end` after `}`) and the end of its last member's value (-1 for `{}`).
   */
  readonly object = { start: 0, end: 0, lastValueEnd: -1 };

  private readonly found: ScannedMember[] = [];
  private readonly elements: ScannedItem[] = [];
  /** The records of `elements[i].member`, one per element (reused like them). */
  private readonly elementMembers: ScannedValue[] = [];
  /** The closing brackets of the containers open in {@link skipValue}, innermost last. */
  private readonly closers: number[] = [];
  /** The keys of each wanted set as a list, made once per set. */
  private readonly wantLists = new WeakMap<ReadonlySet<string>, string[]>();
  private wantSet: ReadonlySet<string> | undefined = undefined;
  private want: string[] | undefined = undefined;
  /** Whether the last string skipped had an escape (so its raw text is not its value). */
  private escaped = false;
  /** The kind of the last value skipped. */
  private kind: Kind = 'null';
  /** How many members of the wanted keys the last object had. */
  private memberCount = 0;

  constructor() {
    this.members = this.found;
    this.items = this.elements;
  }

  /**
   * Checks that a text is one JSON object and finds its top-level members (of `wanted` keys only,
   * when given): returns how many (-1 for a text it does not settle), which are then
   * `members[0, count)`. `from` and `to` scan a part of the text (a value inside it) instead of
   * the whole. The list of `wanted` keys is kept per set: a set must not change once used.
   */
  scanMembers(text: string, wanted?: ReadonlySet<string>, from = 0, to = text.length): number {
    this.setWanted(wanted);
    const end = this.objectAt(text, skipWs(text, from, to), to);
    return end < 0 || skipWs(text, end, to) !== to ? -1 : this.memberCount;
  }

  /**
   * Lists the elements of the array `text[start, end)` (a span {@link scanMembers} found) without
   * building them, with the last member of a `wanted` key of each object: returns their count
   * (-1 for one it does not settle), the elements being then `items[0, count)`. Overwrites
   * `members` and `object` (with those of the elements).
   */
  scanItems(text: string, start: number, end: number, wanted: ReadonlySet<string>): number {
    this.setWanted(wanted);
    let p = skipWs(text, start, end);
    if (text.charCodeAt(p) !== 0x5b) return -1;
    let count = 0;
    p = skipWs(text, p + 1, end);
    if (text.charCodeAt(p) === 0x5d) p++;
    else {
      for (;;) {
        p = this.itemAt(text, p, end, count++);
        if (p < 0) return -1;
        p = skipWs(text, p, end);
        const next = text.charCodeAt(p++);
        if (next === 0x5d) break;
        if (next !== 0x2c) return -1;
        p = skipWs(text, p, end);
      }
    }
    return skipWs(text, p, end) === end ? count : -1;
  }

  private setWanted(wanted: ReadonlySet<string> | undefined): void {
    if (wanted === this.wantSet) return;
    this.wantSet = wanted;
    this.want = wanted === undefined ? undefined : this.wantLists.get(wanted);
    if (wanted !== undefined && this.want === undefined) this.wantLists.set(wanted, (this.want = [...wanted]));
  }

  /**
   * The object at `p` (its `{`): its end (after `}`), or -1. Its members of the wanted keys are then
   * `members[0, memberCount)`, and its bounds in `object`.
   */
  private objectAt(text: string, p: number, n: number): number {
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
        p = this.skipString(text, p, n);
        if (p < 0 || this.escaped) return -1;
        const key =
          this.want === undefined ? text.slice(keyStart + 1, p - 1) : this.wantedKey(text, keyStart + 1, p - 1);
        p = skipWs(text, p, n);
        if (text.charCodeAt(p) !== 0x3a) return -1;
        const start = skipWs(text, p + 1, n);
        p = this.skipValue(text, start, n);
        if (p < 0) return -1;
        lastValueEnd = p;
        if (key !== undefined) this.recordMember(count++, key, start, p);
        p = skipWs(text, p, n);
        const next = text.charCodeAt(p++);
        if (next === 0x7d) break;
        if (next !== 0x2c) return -1;
        p = skipWs(text, p, n);
      }
    }
    this.memberCount = count;
    this.object.start = objectStart;
    this.object.end = p;
    this.object.lastValueEnd = lastValueEnd;
    return p;
  }

  /** Records the member whose value (of the kind just skipped) is `[start, end)` as `members[index]`. */
  private recordMember(index: number, key: string, start: number, end: number): void {
    const m = (this.found[index] ??= { key: '', kind: 'null', start: 0, end: 0, escaped: false });
    m.key = key;
    m.kind = this.kind;
    m.start = start;
    m.end = end;
    m.escaped = this.kind === 'string' && this.escaped;
  }

  /** The element at `p`, recorded as `items[index]`: its end, or -1. */
  private itemAt(text: string, p: number, end: number, index: number): number {
    const from = p;
    const item = (this.elements[index] ??= { kind: 'null', start: 0, end: 0, member: undefined });
    item.member = undefined;
    if (text.charCodeAt(p) === 0x7b) {
      p = this.objectAt(text, p, end);
      if (p < 0) return -1;
      item.kind = 'object';
      if (this.memberCount > 0) item.member = this.lastMemberOf(index);
    } else {
      p = this.skipValue(text, p, end);
      if (p < 0) return -1;
      item.kind = this.kind;
    }
    item.start = from;
    item.end = p;
    return p;
  }

  /** The last member the object just scanned had, copied into the member record of `items[index]`. */
  private lastMemberOf(index: number): ScannedValue {
    const last = this.found[this.memberCount - 1] as ScannedMember;
    const m = (this.elementMembers[index] ??= { kind: 'null', start: 0, end: 0, escaped: false });
    m.kind = last.kind;
    m.start = last.start;
    m.end = last.end;
    m.escaped = last.escaped;
    return m;
  }

  /** A string from its opening quote to after its closing one; sets `escaped`. */
  private skipString(t: string, p: number, n: number): number {
    let sawEscape = false;
    for (p++; p < n;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.escaped = sawEscape;
        return p + 1;
      }
      if (c < 0x20) return -1;
      if (c === 0x5c) {
        sawEscape = true;
        p = skipEscape(t, p);
        if (p < 0) return -1;
        continue;
      }
      p++;
    }
    return -1;
  }

  /** A scalar at `p`: its end (and `kind`), or -1 when there is none. */
  private skipScalar(t: string, p: number, n: number): number {
    const c = t.charCodeAt(p);
    if (c === 0x22) {
      this.kind = 'string';
      return this.skipString(t, p, n);
    }
    if (c === 0x74 && t.startsWith('true', p)) {
      this.kind = 'true';
      return p + 4;
    }
    if (c === 0x66 && t.startsWith('false', p)) {
      this.kind = 'false';
      return p + 5;
    }
    if (c === 0x6e && t.startsWith('null', p)) {
      this.kind = 'null';
      return p + 4;
    }
    this.kind = 'number';
    return skipNumber(t, p);
  }

  /** A value at `p`, nested containers included (iteratively): its end (and `kind`), or -1. */
  private skipValue(t: string, p: number, n: number): number {
    const first = t.charCodeAt(p);
    if (first !== 0x7b && first !== 0x5b) return this.skipScalar(t, p, n);
    const closers = this.closers;
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
          if (t.charCodeAt(p) !== 0x22 || (p = this.skipString(t, p, n)) < 0) return -1;
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
        if ((p = this.skipScalar(t, p, n)) < 0) return -1;
      }
      // After an element (or a closed container): a comma, or closing brackets.
      for (;;) {
        if (depth === 0) {
          this.kind = first === 0x7b ? 'object' : 'array';
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
  private wantedKey(t: string, from: number, to: number): string | undefined {
    const length = to - from;
    for (const key of this.want as string[]) {
      if (key.length !== length) continue;
      let j = 0;
      while (j < length && key.charCodeAt(j) === t.charCodeAt(from + j)) j++;
      if (j === length) return key;
    }
    return undefined;
  }
}

function skipWs(t: string, p: number, n: number): number {
  while (p < n) {
    const c = t.charCodeAt(p);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else break;
  }
  return p;
}

/** An escape at `p` (its backslash) inside a string: the position after it, or -1 for one JSON does not have. */
function skipEscape(t: string, p: number): number {
  const e = t.charCodeAt(p + 1);
  if (e === 0x75) {
    const hex = isHex(t.charCodeAt(p + 2)) && isHex(t.charCodeAt(p + 3));
    return hex && isHex(t.charCodeAt(p + 4)) && isHex(t.charCodeAt(p + 5)) ? p + 6 : -1;
  }
  if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)
    return p + 2;
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
