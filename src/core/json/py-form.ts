/**
 * Whether the text of a value is already exactly what the writer's `pyJsonDumps` writes for it:
 * `", "` and `": "` separators and no other whitespace, strings of printable ASCII with Python's
 * escapes, no repeated key in any object. The controller writes specs with `json.dumps`, so this
 * is the common case, and copying the text is much cheaper than writing it again.
 */

/**
 * Checks spans of text for the json.dumps form. Its stacks are reused by its next check, so a
 * check allocates nothing; each reader of specs owns its own checker.
 */
export class PyFormChecker {
  /**
   * The open containers, `frames[0, depth)`, innermost last: -1 for an array, else where the
   * object's keys start in `keys`, which holds the keys of every open object as (start, end) offsets.
   */
  private readonly frames: number[] = [];
  private readonly keys: number[] = [];
  /** Whether the last string read by {@link stringEnd} had no escape. */
  private plain = true;

  /**
   * Whether `text[start, end)`, the text of a value (valid JSON, as the scanner or the parser
   * found it), is in json.dumps form. Checked on the text alone; an escaped key makes it answer no
   * (the writer then decides), so two spellings of one key are never taken for two keys.
   */
  isPyForm(text: string, start: number, end: number): boolean {
    const frames = this.frames;
    let depth = 0;
    let keyEnd = 0;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        const from = i;
        i = this.stringEnd(text, i);
        if (i < 0) return false;
        const keysFrom = depth > 0 ? (frames[depth - 1] as number) : -1;
        if (keysFrom >= 0 && text.charCodeAt(i + 1) === 0x3a) {
          if (!this.plain || this.isRepeatedKey(text, from + 1, i, keysFrom, keyEnd)) return false;
          this.keys[keyEnd++] = from + 1;
          this.keys[keyEnd++] = i;
        }
      } else if (c === 0x7b) frames[depth++] = keyEnd;
      else if (c === 0x5b) frames[depth++] = -1;
      else if (c === 0x7d || c === 0x5d) {
        if (depth > 0) {
          const keysFrom = frames[--depth] as number;
          if (keysFrom >= 0) keyEnd = keysFrom;
        }
      } else if (c === 0x2c || c === 0x3a) {
        if (text.charCodeAt(i + 1) !== 0x20) return false;
        i++;
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return false;
    }
    return true;
  }

  /**
   * The string at `i` (its opening quote): where its closing quote is, or -1 when it is not as
   * json.dumps writes it (a character outside printable ASCII, an escape Python would not write).
   * Sets `plain`.
   */
  private stringEnd(text: string, i: number): number {
    this.plain = true;
    for (i++; ; i++) {
      const d = text.charCodeAt(i);
      if (d === 0x22) return i;
      if (d < 0x20 || d > 0x7e) return -1;
      if (d === 0x5c) {
        this.plain = false;
        const e = text.charCodeAt(i + 1);
        if (e === 0x75) {
          if (!isPyUnicodeEscape(text.slice(i + 2, i + 6))) return -1;
          i += 5;
        } else if (e === 0x22 || e === 0x5c || e === 0x6e || e === 0x72 || e === 0x74 || e === 0x62 || e === 0x66) i++;
        else return -1;
      }
    }
  }

  /** Whether the key `text[from, to)` is one of the keys `keys[keysFrom, keyEnd)` of its object. */
  private isRepeatedKey(text: string, from: number, to: number, keysFrom: number, keyEnd: number): boolean {
    const keys = this.keys;
    const length = to - from;
    for (let k = keysFrom; k < keyEnd; k += 2) {
      const at = keys[k] as number;
      if ((keys[k + 1] as number) - at === length && sameText(text, at, from, length)) return true;
    }
    return false;
  }
}

/** Whether `\uXXXX` with these four digits is how json.dumps writes its character. */
function isPyUnicodeEscape(hex: string): boolean {
  const code = parseInt(hex, 16);
  return !(
    hex !== hex.toLowerCase() ||
    (code >= 0x20 && code <= 0x7e) ||
    code === 8 ||
    code === 9 ||
    code === 10 ||
    code === 12 ||
    code === 13
  );
}

/** Whether text[a, a+length) and text[b, b+length) are the same. */
function sameText(text: string, a: number, b: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (text.charCodeAt(a + j) !== text.charCodeAt(b + j)) return false;
  return true;
}
