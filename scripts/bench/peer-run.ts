/** Runs the naive peer (scripts/bench/peer.mjs) on a copy as its own process, measured as the tool is. */
import { fileURLToPath } from 'node:url';
import type { Dialect } from '../../test/support/databases.js';
import { runMeasured, type Measured } from './child.js';
import { describeCopy, type Copy } from './targets.js';

const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
/** The knex client the peer's operator would name for each database. */
const CLIENTS: Record<Dialect, string> = { sqlite: 'better-sqlite3', postgres: 'pg', mysql: 'mysql2' };

/**
 * The peer holds every step row in memory (about 1 KB each): above this size it would outgrow Node's
 * default heap (about 4 GB), so larger sizes run without it.
 */
export const PEER_MAX_STEPS = 1_000_000;

export function runPeer(copy: Copy, dir: string): Promise<Measured> {
  return runMeasured(`the naive peer on ${describeCopy(copy)}`, [PEER, CLIENTS[copy.dialect], copy.url], dir);
}
