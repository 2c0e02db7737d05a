import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/** How much is gathered before one write to the file (a million short lines are not a million writes). */
const FLUSH_AT = 1 << 16;

/**
 * A file that appears whole or not at all: written to a temporary file beside it (mode 0600,
 * nobody else reads a plan or an export), synced, then given its name. Until `commit` the name
 * shows nothing, and `abandon` leaves nothing.
 */
export class WholeFile {
  private readonly tmp: string;
  private fd: number | null;
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(readonly path: string) {
    this.tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    this.fd = openSync(this.tmp, 'wx', 0o600);
  }

  write(text: string): void {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= FLUSH_AT) this.flush();
  }

  /**
   * Gives the file its name: `replace` renames over whatever is there; otherwise a link, which
   * unlike a rename never replaces a file that appeared meanwhile (EEXIST is thrown).
   */
  commit(replace: boolean): void {
    this.flush();
    fsyncSync(this.open());
    this.close();
    try {
      if (replace) renameSync(this.tmp, this.path);
      else linkSync(this.tmp, this.path);
    } finally {
      if (!replace) unlinkSync(this.tmp);
    }
  }

  /** Closes and removes the temporary file; the name keeps whatever it had. */
  abandon(): void {
    this.close();
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone (committed by rename, or never written)
    }
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.open(), this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
  }

  private open(): number {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    return this.fd;
  }

  private close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
