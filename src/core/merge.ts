import { TARGET_KEY } from './workflow-spec.js';
import { tryParseJson } from './json/parse.js';
import { getMember, sourceOf, type JsonObject } from './json/tree.js';

/** Sets (or adds at the end) one member of an object in JSON text; every other byte is kept. */
function setMember(text: string, obj: JsonObject, key: string, valueText: string): string {
  const index = obj.entries.map((e) => e.key).lastIndexOf(key);
  const entry = obj.entries[index];
  if (entry) return text.slice(0, entry.node.start) + valueText + text.slice(entry.node.end);
  const last = obj.entries[obj.entries.length - 1];
  const member = `"${key}": ${valueText}`;
  if (!last) return text.slice(0, obj.start) + `{${member}}` + text.slice(obj.end);
  return text.slice(0, last.node.end) + `, ${member}` + text.slice(last.node.end);
}

/** Removes every occurrence of one member of an object in JSON text; every other byte is kept. */
function removeMember(text: string, obj: JsonObject, key: string): string {
  const cuts: [number, number][] = [];
  obj.entries.forEach((entry, i) => {
    if (entry.key !== key) return;
    const previous = obj.entries[i - 1];
    const next = obj.entries[i + 1];
    if (previous) cuts.push([previous.node.end, entry.node.end]);
    else if (next) cuts.push([entry.keyStart, next.keyStart]);
    else cuts.push([obj.start + 1, obj.end - 1]);
  });
  let out = text;
  for (const [from, to] of cuts.reverse()) out = out.slice(0, from) + out.slice(to);
  return out;
}

/**
 * What a forced rollback writes for a workflow edited after the run: its current spec with
 * `step_configurations` as it was before the run (or without it, if it had none), keeping the
 * later edits to every other key. A spec that was NULL/`null` and is left with nothing else
 * comes back as it was.
 */
export function restoreKeepingEdits(current: string | null, original: string | null): string | null {
  const parsedCurrent = current === null ? undefined : tryParseJson(current);
  if (!parsedCurrent || !('node' in parsedCurrent) || parsedCurrent.node.kind !== 'object') return original;
  const parsedOriginal = original === null ? undefined : tryParseJson(original);
  const originalRoot = parsedOriginal && 'node' in parsedOriginal ? parsedOriginal.node : undefined;
  const originalValue = originalRoot?.kind === 'object' ? getMember(originalRoot, TARGET_KEY) : undefined;
  const text = current as string;
  const root = parsedCurrent.node;
  if (originalValue) return setMember(text, root, TARGET_KEY, sourceOf(original as string, originalValue));
  const removed = removeMember(text, root, TARGET_KEY);
  const left = tryParseJson(removed);
  const empty = 'node' in left && left.node.kind === 'object' && left.node.entries.length === 0;
  return empty && (original === null || originalRoot?.kind === 'null') ? original : removed;
}
