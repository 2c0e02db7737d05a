import { NOTHING_WRITTEN, ToolError } from '../errors.js';
import { prettyJsonChunks } from './json-chunks.js';
import type { ExportedRow } from './store.js';
import { WholeFile } from './whole-file.js';

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
  let file: WholeFile | undefined;
  try {
    file = new WholeFile(path);
    for (const chunk of prettyJsonChunks(content)) file.write(chunk);
    file.write('\n');
    file.commit(false);
  } catch (e) {
    file?.abandon();
    throw new ToolError(
      (e as NodeJS.ErrnoException).code === 'EEXIST'
        ? `--orphans-out ${path} already exists; ${NOTHING_WRITTEN}`
        : `cannot write --orphans-out ${path}: ${(e as Error).message}; ${NOTHING_WRITTEN}`,
    );
  }
}
