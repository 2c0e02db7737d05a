import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Entry, EntryKind } from './entry.js';

/** Keys listed per kind of difference; the count says how many there are in all. */
export const LISTED_KEYS = 1000;

/** Rows of one kind of difference: how many, and the first of them by key. */
export interface KeyList {
  count: number;
  keys: { uid: string; version: string }[];
}

/** Rows added, removed or changed (as stored) since the plan. */
export interface RowChanges {
  added: KeyList;
  removed: KeyList;
  changed: KeyList;
}

/**
 * How the data differs from a plan's: the step rows and workflow rows (for a rollback: the rows
 * it restores) added, removed or changed since, and the workflow rows whose written spec differs.
 */
export interface PlanDiff {
  stepRows: RowChanges;
  workflowRows: RowChanges;
  results: KeyList;
}

/** Entries added per transaction while the sets are loaded. */
const PER_TRANSACTION = 10_000;

/**
 * Compares the entries of a plan with those of the data now, in a temporary SQLite database on
 * disk (a million entries a side do not sit in memory), removed when done. Used only once a
 * digest said they differ.
 */
export async function planDiff(
  planned: AsyncIterable<Entry>,
  now: (add: (e: Entry) => void) => Promise<void>,
): Promise<PlanDiff> {
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'stepcfg-plan-diff-'));
  const db = new Database(join(dir, 'entries.db'));
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.exec(`CREATE TABLE entry (side INTEGER, kind TEXT, uid TEXT, version TEXT, row TEXT, result TEXT,
      PRIMARY KEY (kind, uid, version, side)) WITHOUT ROWID`);
    const loader = new Loader(db);
    for await (const e of planned) loader.add(0, e);
    await now((e) => loader.add(1, e));
    loader.flush();
    const rowKind: EntryKind = (db.prepare("SELECT 1 FROM entry WHERE kind = 'r' LIMIT 1").get() as unknown)
      ? 'r'
      : 'w';
    return {
      stepRows: changesOf(db, 's'),
      workflowRows: changesOf(db, rowKind),
      results: keyList(db, RESULTS, rowKind),
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Puts entries into the table in transactions of many. */
class Loader {
  private readonly insert: BetterSqlite3.Statement;
  private batch: [number, Entry][] = [];

  constructor(private readonly db: BetterSqlite3.Database) {
    this.insert = db.prepare('INSERT OR REPLACE INTO entry VALUES (?, ?, ?, ?, ?, ?)');
  }

  add(side: number, e: Entry): void {
    this.batch.push([side, e]);
    if (this.batch.length >= PER_TRANSACTION) this.flush();
  }

  flush(): void {
    const rows = this.batch;
    this.batch = [];
    this.db.transaction(() => {
      for (const [side, e] of rows) this.insert.run(side, e.kind, e.uid, e.version, e.row, e.result);
    })();
  }
}

/** The other side's entry of the same row. */
const OTHER = 'o.kind = e.kind AND o.uid = e.uid AND o.version = e.version AND o.side = 1 - e.side';

/** Rows on one side only (`?` the side), rows on both whose stored form differs, specs written that differ. */
const ONLY = `FROM entry e WHERE e.kind = ? AND e.side = ? AND NOT EXISTS (SELECT 1 FROM entry o WHERE ${OTHER})`;
const CHANGED = `FROM entry e JOIN entry o ON ${OTHER} WHERE e.kind = ? AND e.side = 0 AND e.row IS NOT o.row`;
const RESULTS = `FROM entry e LEFT JOIN entry o ON ${OTHER} WHERE e.kind = ?
  AND (o.uid IS NULL AND e.result IS NOT NULL OR o.uid IS NOT NULL AND e.side = 0 AND e.result IS NOT o.result)`;

function changesOf(db: BetterSqlite3.Database, kind: EntryKind): RowChanges {
  return {
    added: keyList(db, ONLY, kind, 1),
    removed: keyList(db, ONLY, kind, 0),
    changed: keyList(db, CHANGED, kind),
  };
}

/** How many rows a query finds, and the first of them in key order. */
function keyList(db: BetterSqlite3.Database, from: string, ...params: (string | number)[]): KeyList {
  const { n } = db.prepare(`SELECT COUNT(*) AS n ${from}`).get(...params) as { n: number };
  const keys = db
    .prepare(`SELECT e.uid AS uid, e.version AS version ${from} ORDER BY e.uid, e.version LIMIT ${LISTED_KEYS}`)
    .all(...params) as KeyList['keys'];
  return { count: n, keys };
}
