import { createHash } from 'node:crypto';
import { WholeFile } from '../migrate/whole-file.js';
import { Digest, entryLine, type Entry } from './entry.js';
import type { PlanHeader } from './header.js';

/** The line after the entries: what the plan found, and what the entries add up to. */
export interface PlanTrailer {
  end: true;
  entries: number;
  digest: string;
  [field: string]: unknown;
}

/** A plan file as written: its path and the sha256 of its bytes, which names it in reports and runs. */
export interface WrittenPlan {
  path: string;
  sha256: string;
}

/**
 * Writes a plan file line by line as the pass reads the rows (memory stays flat): the header,
 * one line per entry, the trailer, then a checksum of every byte before it. The file appears
 * whole when finished, or not at all.
 */
export class PlanFileWriter {
  private readonly file: WholeFile;
  /** Every byte before the checksum line; and the whole file, the plan's name. */
  private readonly checksum = createHash('sha256');
  private readonly whole = createHash('sha256');
  private readonly digest = new Digest();

  constructor(path: string, header: PlanHeader) {
    this.file = new WholeFile(path);
    this.line(JSON.stringify(header) + '\n');
  }

  add(entry: Entry): void {
    this.digest.add(entry);
    this.line(entryLine(entry));
  }

  /** Ends the file with the trailer (the report's parts given) and gives it its name. */
  finish(report: Record<string, unknown>): WrittenPlan {
    const trailer: PlanTrailer = { end: true, entries: this.digest.count, digest: this.digest.value, ...report };
    this.line(JSON.stringify(trailer) + '\n');
    const last = JSON.stringify({ checksum: `sha256:${this.checksum.digest('hex')}` }) + '\n';
    this.file.write(last);
    this.file.commit(true);
    return { path: this.file.path, sha256: this.whole.update(last).digest('hex') };
  }

  abandon(): void {
    this.file.abandon();
  }

  private line(text: string): void {
    this.checksum.update(text);
    this.whole.update(text);
    this.file.write(text);
  }
}
