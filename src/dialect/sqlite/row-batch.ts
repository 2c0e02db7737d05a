/*
 * Rows handed from the reading thread to the planning thread. Cloning a million small arrays
 * between threads costs more than reading them; one string per row, of its values' texts with
 * their lengths, crosses at a fraction of that and is cut up again on the other side. One string
 * per row, not per batch: a value kept for the report (an orphan's id) keeps its row's text alive,
 * never a whole batch's.
 */
import type { RowGroup } from '../types.js';

/** A batch of groups: each group's workflow rows, then its step rows, every value in select order. */
export interface PackedBatch {
  /** Per row, its values' texts one after the other. */
  texts: string[];
  /** Per value: its length in its row's text, {@link NULL} or {@link BYTES} (the next entry of `bytes`). */
  lengths: Int32Array;
  bytes: Uint8Array[];
  /** Per group: its workflow rows, then its step rows. */
  groups: Int32Array;
}

const NULL = -1;
const BYTES = -2;

/** Collects rows into a {@link PackedBatch}; `width` values of each row are kept. */
export class BatchPacker {
  private texts: string[] = [];
  private lengths: number[] = [];
  private bytes: Uint8Array[] = [];
  private sizes: number[] = [];
  rows = 0;
  groups = 0;

  add(row: readonly unknown[], width: number): void {
    let text = '';
    for (let i = 0; i < width; i++) {
      const value = row[i];
      if (value === null || value === undefined) this.lengths.push(NULL);
      else if (value instanceof Uint8Array) {
        this.lengths.push(BYTES);
        this.bytes.push(value);
      } else {
        const valueText = typeof value === 'string' ? value : String(value);
        text += valueText;
        this.lengths.push(valueText.length);
      }
    }
    this.texts.push(text);
    this.rows++;
  }

  endGroup(workflows: number, steps: number): void {
    this.sizes.push(workflows, steps);
    this.groups++;
  }

  take(): PackedBatch {
    const batch = {
      texts: this.texts,
      lengths: Int32Array.from(this.lengths),
      bytes: this.bytes,
      groups: Int32Array.from(this.sizes),
    };
    this.texts = [];
    this.lengths = [];
    this.bytes = [];
    this.sizes = [];
    this.rows = 0;
    this.groups = 0;
    return batch;
  }
}

/** The groups of a batch, each row an array of `stepWidth` or `workflowWidth` values (text, null or bytes). */
export function unpack(batch: PackedBatch, workflowWidth: number, stepWidth: number): RowGroup[] {
  const cursor = { row: 0, value: 0, bytes: 0 };
  const rowsOf = (count: number, width: number): unknown[][] => {
    const rows: unknown[][] = new Array(count);
    for (let r = 0; r < count; r++) rows[r] = readRow(batch, cursor, width);
    return rows;
  };
  const groups: RowGroup[] = [];
  for (let g = 0; g < batch.groups.length; g += 2) {
    const workflows = rowsOf(batch.groups[g] as number, workflowWidth);
    groups.push({ workflows, steps: rowsOf(batch.groups[g + 1] as number, stepWidth) });
  }
  return groups;
}

function readRow(batch: PackedBatch, cursor: { row: number; value: number; bytes: number }, width: number): unknown[] {
  const row: unknown[] = new Array(width);
  const text = batch.texts[cursor.row++] as string;
  let at = 0;
  for (let i = 0; i < width; i++) {
    const length = batch.lengths[cursor.value++] as number;
    if (length === NULL) row[i] = null;
    else if (length === BYTES) row[i] = batch.bytes[cursor.bytes++];
    else {
      row[i] = text.slice(at, at + length);
      at += length;
    }
  }
  return row;
}
