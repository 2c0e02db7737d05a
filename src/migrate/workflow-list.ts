import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { compareChanges, type WorkflowList } from '../core/plan.js';
import type { WorkflowChange } from '../core/types.js';

/** Changes kept in memory before the list moves to a file. */
const IN_MEMORY = 5_000;
/** Bytes of JSON lines gathered before each write, and read at a time. */
const CHUNK = 1 << 20;

const spillDirs = new Set<string>();

/** Removes every spill file of the process (the CLI calls it when the report is out, and at exit). */
export function removeSpillFiles(): void {
  for (const dir of spillDirs) rmSync(dir, { recursive: true, force: true });
  spillDirs.clear();
}

/**
 * The changed workflow rows of a large plan, for its report: the first few thousand in memory,
 * the rest as JSON lines in a private temporary file (mode 0600, unlinked once open), so that memory
 * stays flat whatever the number of workflows. The scan adds them in (uid, version) order; a
 * list that was not added in order is sorted in memory when finished.
 */
export class SpillingWorkflowList implements WorkflowList {
  private memory: WorkflowChange[] = [];
  private file: { path: string; fd: number } | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private count = 0;
  private last: WorkflowChange | null = null;
  private ordered = true;

  get length(): number {
    return this.count;
  }

  add(change: WorkflowChange): void {
    if (this.last && compareChanges(this.last, change) > 0) this.ordered = false;
    this.last = change;
    this.count++;
    if (this.file === null && this.memory.length < IN_MEMORY) {
      this.memory.push(change);
      return;
    }
    const line = `${JSON.stringify(change)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= CHUNK) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    if (this.file === null) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'stepcfg-migrate-'));
      spillDirs.add(dir);
      const file = path.join(dir, 'workflows.jsonl');
      this.file = { path: file, fd: openSync(file, 'w+', 0o600) };
      try {
        // The open descriptor keeps the data; with no name left, nothing stays behind even when
        // the process is killed. (Where an open file cannot be removed, `removeSpillFiles` does it.)
        rmSync(dir, { recursive: true, force: true });
        spillDirs.delete(dir);
      } catch {
        // removed at exit instead
      }
    }
    writeSync(this.file.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  finish(): void {
    this.flush();
    if (!this.ordered) {
      // Not in scan order (never the case for a scan): sort it all in memory, once.
      const all = [...this];
      all.sort(compareChanges);
      this.closeFile();
      this.memory = all;
      this.ordered = true;
    }
  }

  private closeFile(): void {
    if (this.file) {
      closeSync(this.file.fd);
      rmSync(path.dirname(this.file.path), { recursive: true, force: true });
      spillDirs.delete(path.dirname(this.file.path));
      this.file = null;
    }
  }

  *[Symbol.iterator](): Iterator<WorkflowChange> {
    yield* this.memory;
    if (this.file === null) return;
    this.flush();
    const buffer = Buffer.alloc(CHUNK);
    let position = 0;
    let rest = '';
    const decoder = new StringDecoder('utf8'); // a character may straddle two reads
    for (;;) {
      const read = readSync(this.file.fd, buffer, 0, CHUNK, position);
      if (read === 0) break;
      position += read;
      const lines = (rest + decoder.write(buffer.subarray(0, read))).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) yield JSON.parse(line) as WorkflowChange;
    }
    if (rest) yield JSON.parse(rest) as WorkflowChange;
  }
}
