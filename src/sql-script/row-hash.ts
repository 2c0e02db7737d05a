import { hash } from 'node:crypto';

/** The hash functions a database shell computes: SHA-256 (PostgreSQL, MariaDB), SHA3-256 (the sqlite3 shell's sha3). */
export type RowHash = 'sha256' | 'sha3-256';

/** The bytes of a row's hash that count: 40 bits, so that a million rows sum to less than 2^63 (SQLite's integers). */
const ROW_HASH_BYTES = 5;

/** Rows whose 40-bit values a double still adds exactly (2^53 / 2^40), before they go into the sum. */
const EXACT_ROWS = 8192;

/** The count of rows and the sum of their 40-bit hashes: what the script checks the step table by. */
export interface HashSum {
  rows: number;
  sum: bigint;
}

/** Adds up the 40-bit hashes of rows, in any order. */
export class RowHashSum implements HashSum {
  rows = 0;
  private total = 0n;
  private pending = 0;
  private pendingRows = 0;

  constructor(private readonly algorithm: RowHash) {}

  /** Adds one row, as the text (or bytes) the script hashes of it. */
  add(data: string | Uint8Array): void {
    this.pending += hash(this.algorithm, data, 'buffer').readUIntBE(0, ROW_HASH_BYTES);
    this.rows++;
    if (++this.pendingRows === EXACT_ROWS) this.settle();
  }

  get sum(): bigint {
    this.settle();
    return this.total;
  }

  private settle(): void {
    this.total += BigInt(this.pending);
    this.pending = 0;
    this.pendingRows = 0;
  }
}
