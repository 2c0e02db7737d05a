import { tryParseJson } from '../core/json/parse.js';
import { getMember, sourceOf, type JsonObject } from '../core/json/tree.js';
import { canonicalJson, pyJsonDumps } from '../core/json/write.js';
import { restoreKeepingEdits } from '../core/merge.js';
import { TARGET_KEY } from '../core/workflow-spec.js';
import { stillAsWritten } from './bookkeeping.js';

/** The object of a spec text; null for NULL, `null`, or anything that is not a JSON object. */
function objectOf(text: string | null): { text: string; root: JsonObject } | null {
  if (text === null) return null;
  const parsed = tryParseJson(text);
  return 'node' in parsed && parsed.node.kind === 'object' ? { text, root: parsed.node } : null;
}

/**
 * What the run wrote, rebuilt from the original spec with the current `step_configurations` in
 * its place: the fold copies every other key byte for byte, so this is the written spec exactly
 * when the array was left as the run wrote it.
 */
function writtenWithArray(original: string | null, arrayText: string | undefined): string | null {
  const currentText = arrayText === undefined ? '{}' : `{"${TARGET_KEY}": ${arrayText}}`;
  if (objectOf(original)) return restoreKeepingEdits(original, currentText);
  return arrayText === undefined ? original : currentText;
}

/**
 * Whether the current array is the one the run wrote: as its text stands, or re-serialised the
 * way the fold writes (an editor that rewrote the whole spec changes the array's layout only).
 */
function arrayAsWritten(original: string | null, current: JsonObject, currentText: string, hash: string): boolean {
  const array = getMember(current, TARGET_KEY);
  const forms = array ? [sourceOf(currentText, array), pyJsonDumps(array)] : [undefined];
  return forms.some((form) => {
    const candidate = writtenWithArray(original, form);
    return candidate !== null && stillAsWritten(candidate, hash);
  });
}

/**
 * The top-level spec keys that differ between what a run wrote (its original spec with the
 * folded array; known by its fingerprint) and the spec now. Every other key of the written spec
 * is the original's, so those are compared with the original; `step_configurations` is judged
 * by the fingerprint. A spec that is no longer an object differs in every key.
 */
export function editedKeys(current: string | null, original: string | null, writtenHash: string): string[] {
  const before = objectOf(original);
  const now = objectOf(current);
  const keysOf = (o: { root: JsonObject } | null) => (o ? o.root.entries.map((e) => e.key) : []);
  if (!now) return [...new Set([...keysOf(before), TARGET_KEY])];
  const keys = [...new Set([...keysOf(now), ...keysOf(before)])].filter((key) => key !== TARGET_KEY);
  const edited = keys.filter((key) => {
    const a = before ? getMember(before.root, key) : undefined;
    const b = getMember(now.root, key);
    return !a || !b || canonicalJson(a) !== canonicalJson(b);
  });
  return arrayAsWritten(original, now.root, now.text, writtenHash) ? edited : [TARGET_KEY, ...edited];
}
