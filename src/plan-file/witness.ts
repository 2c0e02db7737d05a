import type { StepRow, WorkflowRow, WorkflowUpdate } from '../core/types.js';
import type { Witness } from '../migrate/scan.js';
import type { Entry } from './entry.js';
import { specFingerprint, stepFingerprint, workflowFingerprint } from './fingerprint.js';

/**
 * The witness of a fold's pass: an entry for every step row and workflow row it reads, the
 * workflow rows with the spec the pass would write into them. What becomes of the entries
 * (a plan file, a digest to compare with one) is the caller's.
 */
export function foldWitness(sink: (entry: Entry) => void): Witness {
  return {
    seen(workflows: readonly WorkflowRow[], steps: readonly StepRow[], updates: readonly WorkflowUpdate[]) {
      for (const s of steps) {
        sink({ kind: 's', uid: s.uid, version: s.version, row: stepFingerprint(s), result: null });
      }
      for (const w of workflows) {
        const update = updates.find((u) => u.uid === w.uid && u.version === w.version);
        sink({
          kind: 'w',
          uid: w.uid,
          version: w.version,
          row: workflowFingerprint(w),
          result: specFingerprint(update?.newSpec),
        });
      }
    },
  };
}

/**
 * The entry of one workflow row a rollback looks at: the row as it is now (null: gone), which
 * tells drift, and the spec the rollback gives it back (none when it leaves the row).
 */
export function rollbackEntry(
  key: { uid: string; version: string },
  row: WorkflowRow | undefined,
  restored: string | null | undefined,
): Entry {
  return {
    kind: 'r',
    uid: key.uid,
    version: key.version,
    row: row ? workflowFingerprint(row) : null,
    result: specFingerprint(restored),
  };
}
