import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { NOTHING_WRITTEN, ToolError } from '../errors.js';
import { prettyJsonChunks } from './json-chunks.js';
import type { ExportedRow } from './store.js';

/** One row the fold did not place, with why, as it goes into the `--orphans-out` file. */
export interface LeftRow extends ExportedRow {
  reason: string;
}

/**
 * Writes the export whole or not at all: to a temporary file (mode 0600) that is synced, then
 * linked to its name — a link, unlike a rename, never replaces a file that appeared meanwhile.
 * The JSON is `JSON.stringify(content, null, 2)`, written in chunks: its rows may be a list
 * spilled to a file, read back one at a time.
 */
export function writeOrphansFile(path: string, content: object): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    for (const chunk of prettyJsonChunks(content)) writeSync(fd, chunk);
    writeSync(fd, '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    throw new ToolError(
      (e as NodeJS.ErrnoException).code === 'EEXIST'
        ? `--orphans-out ${path} already exists; ${NOTHING_WRITTEN}`
        : `cannot write --orphans-out ${path}: ${(e as Error).message}; ${NOTHING_WRITTEN}`,
    );
  } finally {
    unlinkSync(tmp);
  }
}
