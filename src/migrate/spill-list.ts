import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Entries kept in memory before a list moves to a file. */
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
 * A list of report entries (one per row of a large table) that keeps memory flat: the first few
 * thousand in memory, the rest as JSON lines in a private temporary file (mode 0600, unlinked
 * once open). It is only added to and iterated, in the order added; entries must be plain JSON
 * data, since what comes back from the file is what `JSON.parse` makes of it.
 */
export class SpillingList<T> implements Iterable<T> {
  protected memory: T[] = [];
  private file: { path: string; fd: number } | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private count = 0;

  /** `inMemory`: how many entries stay in memory before the list spills (small in tests). */
  constructor(private readonly inMemory = IN_MEMORY) {}

  get length(): number {
    return this.count;
  }

  add(entry: T): void {
    this.count++;
    if (this.file === null && this.memory.length < this.inMemory) {
      this.memory.push(entry);
      return;
    }
    const line = `${JSON.stringify(entry)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= CHUNK) this.flush();
  }

  /** Writes what is gathered to the file, opening it the first time. */
  protected flush(): void {
    if (this.pending.length === 0) return;
    this.file ??= openSpillFile();
    writeSync(this.file.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Replaces the whole list by these entries, held in memory (the file, if any, goes). */
  protected replaceAll(entries: T[]): void {
    if (this.file) {
      closeSync(this.file.fd);
      rmSync(path.dirname(this.file.path), { recursive: true, force: true });
      spillDirs.delete(path.dirname(this.file.path));
      this.file = null;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.memory = entries;
    this.count = entries.length;
  }

  *[Symbol.iterator](): Iterator<T> {
    yield* this.memory;
    this.flush();
    if (this.file === null) return;
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
      for (const line of lines) if (line) yield JSON.parse(line) as T;
    }
    if (rest) yield JSON.parse(rest) as T;
  }
}

/** The first `n` entries of a list, without reading the rest. */
export function firstOf<T>(list: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  if (n <= 0) return out;
  for (const entry of list) {
    out.push(entry);
    if (out.length >= n) break;
  }
  return out;
}

function openSpillFile(): { path: string; fd: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stepcfg-migrate-'));
  spillDirs.add(dir);
  const file = path.join(dir, 'list.jsonl');
  const opened = { path: file, fd: openSync(file, 'w+', 0o600) };
  try {
    // The open descriptor keeps the data; with no name left, nothing stays behind even when
    // the process is killed. (Where an open file cannot be removed, `removeSpillFiles` does it.)
    rmSync(dir, { recursive: true, force: true });
    spillDirs.delete(dir);
  } catch {
    // removed at exit instead
  }
  return opened;
}
