import type { StepRow } from '../core/types.js';

/** Each column the script hashes of a step row, with the field of a step row that holds its text. */
export type StepColumns = readonly { column: string; field: keyof StepRow }[];

/**
 * The step table's check in a script is its row count and the sum of a 40-bit hash of each row
 * (see `row-hash.ts`), which the database computes again from the same text: each column as `N`
 * (NULL) or `T<bytes>:<text>`, one after the other, in the order of the columns. A sum needs no
 * order, so rows are added as the plan meets them, and any row added, removed or edited since
 * changes it (but for a chance of one in 2^40). This is that text of a row.
 */
export function stepRowText(row: StepRow, columns: StepColumns): string {
  let text = '';
  for (const { field } of columns) {
    const v = row[field] as string | null | undefined;
    text += v === null || v === undefined ? 'N' : `T${Buffer.byteLength(v, 'utf8')}:${v}`;
  }
  return text;
}

/** The same of a row given as its column texts, `spec` as bytes (a spec that is not UTF-8 text, on SQLite). */
export function stepRowBytes(values: readonly (string | Buffer | null | undefined)[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v === null || v === undefined) parts.push(Buffer.from('N'));
    else {
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      parts.push(Buffer.from(`T${bytes.length}:`), bytes);
    }
  }
  return Buffer.concat(parts);
}
