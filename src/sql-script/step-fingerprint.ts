import { hash } from 'node:crypto';
import type { StepRow } from '../core/types.js';

/** The hash functions a database shell computes: SHA-256 (PostgreSQL, MariaDB), SHA3-256 (the sqlite3 shell's sha3). */
export type RowHash = 'sha256' | 'sha3-256';

/** The bytes of a row's hash that count: 40 bits, so that a million rows sum to less than 2^63 (SQLite's integers). */
export const ROW_HASH_BYTES = 5;

/**
 * The step table as a plan read it, in a form the database can compute again: its row count and
 * the sum of a 40-bit hash of each row. Each row's columns are written as `N` (NULL) or
 * `T<bytes>:<text>`, one after the other, in the order of `columns`; the script builds the same
 * text in SQL. A sum needs no order, so rows are added as the plan meets them, and any row
 * added, removed or edited since changes it (but for a chance of one in 2^40).
 */
export class StepFingerprint {
  rows = 0;
  sum = 0n;

  constructor(
    private readonly hash: RowHash,
    /** Each column the script hashes, with the field of a step row that holds its text. */
    private readonly columns: readonly { column: string; field: keyof StepRow }[],
  ) {}

  add(row: StepRow): void {
    // One text per row, hashed at once: a million rows make no buffers of their own.
    let text = '';
    for (const { field } of this.columns) {
      const v = row[field] as string | null | undefined;
      text += v === null || v === undefined ? 'N' : `T${Buffer.byteLength(v, 'utf8')}:${v}`;
    }
    this.count(hash(this.hash, text, 'buffer'));
  }

  /** A row given as its column texts, `spec` as bytes (a spec that is not UTF-8 text, on SQLite). */
  addBytes(values: readonly (string | Buffer | null | undefined)[]): void {
    const parts: Buffer[] = [];
    for (const v of values) {
      if (v === null || v === undefined) parts.push(Buffer.from('N'));
      else {
        const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
        parts.push(Buffer.from(`T${bytes.length}:`), bytes);
      }
    }
    this.count(hash(this.hash, Buffer.concat(parts), 'buffer'));
  }

  private count(digest: Buffer): void {
    this.rows++;
    this.sum += BigInt(digest.readUIntBE(0, ROW_HASH_BYTES));
  }
}
