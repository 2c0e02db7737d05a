import { createHash, type Hash } from 'node:crypto';
import type { StepRow, WorkflowRow } from '../core/types.js';

/** A value as the tool read it: a text, SQL NULL, or a column the table does not have. */
type Field = string | null | undefined;

/** Bytes of a fingerprint: 128 bits of sha256, ample to tell rows apart, half the size in the file. */
const BYTES = 16;

/**
 * Feeds one value into a hash so that no two sequences of values feed the same bytes: a tag
 * (absent, NULL, text) and, for a text, its length in bytes before the bytes. NULL and '' differ,
 * and ('ab', 'c') never meets ('a', 'bc').
 */
function frame(hash: Hash, value: Field): void {
  if (value === undefined) hash.update('A');
  else if (value === null) hash.update('N');
  else {
    const bytes = Buffer.from(value, 'utf8');
    hash.update(`S${bytes.length}:`);
    hash.update(bytes);
  }
}

/** The fingerprint of a sequence of values (base64url, 22 characters). */
export function fingerprint(values: readonly Field[]): string {
  const hash = createHash('sha256');
  for (const v of values) frame(hash, v);
  return hash.digest().subarray(0, BYTES).toString('base64url');
}

/** A step row's fingerprint: every column the tool read, as stored, in a fixed order. */
export function stepFingerprint(row: StepRow): string {
  return fingerprint([
    row.uid,
    row.version,
    row.name,
    row.workflowId,
    row.created,
    row.spec,
    row.specError,
    row.agentId,
    row.mcpServerId,
    row.projectId,
    row.ownerId,
    row.description,
  ]);
}

/** A workflow row's fingerprint: its key, name and spec as stored. */
export function workflowFingerprint(row: WorkflowRow): string {
  return fingerprint([row.uid, row.version, row.name, row.spec, row.specError]);
}

/**
 * The fingerprint of the spec a run would write into a row: a text, or SQL NULL (a rollback gives
 * a NULL spec back). Undefined — nothing written — has none (null).
 */
export function specFingerprint(spec: string | null | undefined): string | null {
  return spec === undefined ? null : fingerprint([spec]);
}
