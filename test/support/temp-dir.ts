import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A temp directory for one test file: made on first use and removed after the file's tests, so a
 * run whose tests all skip (a `-t` filter, a server that is down) leaves none behind.
 */
export function tempDir(prefix: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => (dir ??= mkdtempSync(join(tmpdir(), prefix)));
}
