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

/** A 128-bit number as four 32-bit lanes, least significant first. */
type Lanes = [number, number, number, number];

/**
 * What an entry adds to the digest: 128 bits that stand for it. A step row's fingerprint already
 * covers its key and every column (and it writes nothing), so it stands for itself; a workflow
 * row's entry binds its fingerprint to the spec written into it with a hash of both.
 */
function entryBits(e: Entry): Buffer {
  const own = e.kind === 's' && e.row !== null ? Buffer.from(e.row, 'base64url') : undefined;
  if (own?.length === 16) return own;
  return createHash('sha256')
    .update(JSON.stringify([e.kind, e.uid, e.version, e.row, e.result]))
    .digest();
}

/**
 * The digest of a set of entries: the count, and the sum modulo 2^128 of 128 bits of each (see
 * `entryBits`). A sum does not depend on the order the rows were read in (which differs between
 * the reads of a plan and of its apply), and needs no memory.
 */
export class Digest {
  count = 0;
  private readonly sum: Lanes = [0, 0, 0, 0];

  add(e: Entry): void {
    const bits = entryBits(e);
    let carry = 0;
    for (let lane = 0; lane < 4; lane++) {
      const total = this.sum[lane]! + bits.readUInt32BE(12 - lane * 4) + carry;
      this.sum[lane] = total >>> 0;
      carry = total > 0xffffffff ? 1 : 0;
    }
    this.count++;
  }

  /** The sum as 32 hexadecimal digits. */
  get value(): string {
    return this.sum
      .map((lane) => lane.toString(16).padStart(8, '0'))
      .reverse()
      .join('');
  }
}
