import { createHash } from 'node:crypto';

/**
 * What a plan fingerprints, one row each: a step row (`s`), a workflow row of a fold (`w`), a
 * workflow row a rollback restores (`r`). `row` is the row's fingerprint as read; `result` the
 * fingerprint of the spec the run writes into it (null: it writes none; step rows have none).
 */
export type EntryKind = 's' | 'w' | 'r';

export interface Entry {
  kind: EntryKind;
  uid: string;
  version: string;
  row: string | null;
  result: string | null;
}

/** An entry as a line of the plan file: a JSON array, the shortest unambiguous form. */
export function entryLine(e: Entry): string {
  const fields: (string | null)[] = [e.kind, e.uid, e.version, e.row];
  if (e.kind !== 's') fields.push(e.result);
  return JSON.stringify(fields) + '\n';
}

const KINDS = new Set<string>(['s', 'w', 'r']);
const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** An entry from its parsed line; undefined when the line is not one. */
export function entryOf(value: unknown): Entry | undefined {
  if (!Array.isArray(value)) return undefined;
  const [kind, uid, version, row, result = null] = value as unknown[];
  if (!isText(kind) || !KINDS.has(kind) || value.length !== (kind === 's' ? 4 : 5)) return undefined;
  if (!isText(uid) || !isText(version) || !isTextOrNull(row) || !isTextOrNull(result)) return undefined;
  return { kind: kind as EntryKind, uid, version, row, result };
}

/** 2^128: the digest is a sum of entry hashes modulo this. */
const MODULUS = 1n << 128n;

/**
 * The digest of a set of entries: the count, and the sum modulo 2^128 of a 128-bit hash of each.
 * A sum does not depend on the order the rows were read in (which differs between the reads of
 * a plan and of its apply), and needs no memory.
 */
export class Digest {
  count = 0;
  private sum = 0n;

  add(e: Entry): void {
    const hash = createHash('sha256').update(JSON.stringify([e.kind, e.uid, e.version, e.row, e.result]));
    this.sum = (this.sum + BigInt('0x' + hash.digest('hex').slice(0, 32))) % MODULUS;
    this.count++;
  }

  get value(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}
