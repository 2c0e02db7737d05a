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
