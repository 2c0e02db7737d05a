import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { NOTHING_WRITTEN, ToolError } from '../errors.js';

/** Bytes gathered before one write to the file: few system calls, and memory stays flat. */
const FLUSH_BYTES = 1 << 20;

/** A place in the file kept blank (spaces) for a value known only once the whole plan was read. */
export interface Slot {
  offset: number;
  width: number;
}

/**
 * The script as it is written: appended to a temporary file (mode 0600) as the plan is read,
 * with slots filled in at the end, then synced and linked to its name whole — or removed.
 * A link, unlike a rename, never replaces a file that appeared meanwhile.
 */
export class ScriptFile {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private written = 0;
  private open = true;

  constructor(
    private readonly path: string,
    /** From {@link temporaryName}: the run's thread, which names it, removes it if this thread cannot. */
    private readonly tmp: string,
  ) {
    this.fd = openSync(this.tmp, 'wx', 0o600);
  }

  /** Appends text; returns its length in bytes. Texts are joined and encoded once per flush. */
  write(text: string): number {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.pending.push(text);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    return bytes;
  }

  /** Appends `width` spaces that {@link fill} later replaces. */
  slot(width: number): Slot {
    const offset = this.written + this.pendingBytes;
    this.write(' '.repeat(width));
    return { offset, width };
  }

  /** Writes a value into its slot, padded with spaces; a value that does not fit is a bug. */
  fill(slot: Slot, value: string): void {
    const bytes = Buffer.from(value.padEnd(slot.width), 'utf8');
    if (bytes.length !== slot.width) throw new Error(`a value of ${bytes.length} bytes for a slot of ${slot.width}`);
    this.flush();
    this.writeAt(bytes, slot.offset);
  }

  /** Makes the file whole under its name; never replaces an existing file. */
  commit(): void {
    this.flush();
    fsyncSync(this.fd);
    this.close();
    try {
      linkSync(this.tmp, this.path);
    } catch (e) {
      throw new ToolError(
        (e as NodeJS.ErrnoException).code === 'EEXIST'
          ? `--sql-out ${this.path} already exists; ${NOTHING_WRITTEN}`
          : `cannot write --sql-out ${this.path}: ${(e as Error).message}; ${NOTHING_WRITTEN}`,
      );
    } finally {
      unlinkSync(this.tmp);
    }
  }

  /** Removes the unfinished file. */
  discard(): void {
    if (!this.open) return;
    this.close();
    unlinkSync(this.tmp);
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const chunk = Buffer.from(this.pending.join(''), 'utf8');
    this.writeAt(chunk, this.written);
    this.written += chunk.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes bytes at an offset; a disk that is full or failing is the operator's to see, in one line. */
  private writeAt(bytes: Buffer, offset: number): void {
    try {
      writeSync(this.fd, bytes, 0, bytes.length, offset);
    } catch (e) {
      throw new ToolError(`cannot write --sql-out ${this.path}: ${(e as Error).message}; ${NOTHING_WRITTEN}`);
    }
  }

  private close(): void {
    this.open = false;
    closeSync(this.fd);
  }
}

/** The temporary file a file is written to before it appears under its name. */
export function temporaryName(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}
