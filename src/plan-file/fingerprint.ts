import crypto, { createHash } from 'node:crypto';
import type { StepRow, WorkflowRow } from '../core/types.js';

/** A value as the tool read it: a text, SQL NULL, or a column the table does not have. */
type Field = string | null | undefined;

/** Characters of a fingerprint: 22 of base64url, 128 bits of sha256 (and 4 more), ample to tell rows apart. */
const CHARS = 22;

/**
 * sha256 in one call, as base64url: a hash object per row costs more than hashing the row
 * (`crypto.hash`, Node 20.12 and later; the object where it is missing).
 */
const sha256 = (text: string): string =>
  crypto.hash ? crypto.hash('sha256', text, 'base64url') : createHash('sha256').update(text).digest('base64url');

/**
 * One value as it is fed into a hash, so that no two sequences of values feed the same bytes: a
 * tag (absent, NULL, text) and, for a text, its length in bytes before it. NULL and '' differ,
 * and ('ab', 'c') never meets ('a', 'bc').
 */
function framed(value: Field): string {
  if (value === undefined) return 'A';
  if (value === null) return 'N';
  return `S${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/** The fingerprint of a sequence of values (base64url, 22 characters). */
export function fingerprint(values: readonly Field[]): string {
  let text = '';
  for (const v of values) text += framed(v);
  return sha256(text).slice(0, CHARS);
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
