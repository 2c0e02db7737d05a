import { createHash, hash, type Hash } from 'node:crypto';
import type { Dialect } from '../config/db-url.js';
import { writtenHash } from '../migrate/bookkeeping.js';
import { RowHashSum } from './row-hash.js';
import type { PlanFacts, RunValues, ScriptDialect, ScriptTarget } from './script-dialect.js';
import { ScriptFile, type Slot } from './script-file.js';

/** Bytes kept in the header for the plan's numbers, written once the plan is complete. */
const PLAN_LINES_SLOT = 640;
const END_OF_HEADER = '-- end of header\n';

/** What a script is written from, known before the first row. */
export interface ScriptJob {
  file: string;
  /** The temporary file it is written to, until it is whole. */
  tmp: string;
  dialect: Dialect;
  target: ScriptTarget;
  /** The header's comment lines, as text: what the script does, from which plan, how to run it. */
  header: string;
  /** Whether the database keeps the spec's text as written (the backups' written hash depends on it). */
  keepsText: boolean;
}

/** A workflow row the plan rewrites, as the planning thread hands it over. */
export interface PlannedWrite {
  uid: string;
  version: string;
  oldSpec: string | null;
  newSpec: string;
}

/** What the pass handed over, in one batch: step rows as the texts their hash is of, workflow writes. */
export interface ScriptBatch {
  steps: (string | Uint8Array)[];
  writes: PlannedWrite[];
}

/** The plan as the script holds it: the step table's count and sum, the plan's fingerprint. */
export interface ScriptPlan {
  rows: number;
  sum: bigint;
  fingerprint: string;
}

/** The dialect of each database's script, loaded where a script is written. */
export async function scriptDialect(dialect: Dialect): Promise<ScriptDialect> {
  if (dialect === 'sqlite') return (await import('./sqlite.js')).sqliteScript;
  if (dialect === 'postgres') return (await import('./postgres.js')).postgresScript;
  return (await import('./mysql.js')).mysqlScript;
}

/**
 * The script as the plan is read: the header and prologue first, then each workflow row's guard,
 * backup and new spec as it comes; the step table's count and hash sum and the plan's
 * fingerprint as it goes; at the end the run record, and the numbers in the slots kept for them.
 */
export class ScriptWriter {
  private readonly out: ScriptFile;
  private readonly planSlot: Slot;
  private readonly fillFacts: (facts: PlanFacts) => void;
  private readonly steps: RowHashSum;
  private readonly plan: Hash = createHash('sha256');
  private largest = 0;

  constructor(
    private readonly job: ScriptJob,
    private readonly dialect: ScriptDialect,
  ) {
    this.out = new ScriptFile(job.file, job.tmp);
    this.steps = new RowHashSum(dialect.rowHash);
    this.out.write(job.header);
    this.planSlot = this.out.slot(PLAN_LINES_SLOT);
    this.out.write('\n' + END_OF_HEADER);
    this.fillFacts = dialect.prologue(job.target, this.out);
    this.out.write(
      '-- Each workflow row: the guard (its spec is still the one the plan read), the backup, the new spec.\n',
    );
  }

  add(batch: ScriptBatch): void {
    for (const text of batch.steps) this.steps.add(text);
    for (const w of batch.writes) this.write(w);
  }

  /** The plan as read: once every batch is in. */
  planned(): ScriptPlan {
    const { rows, sum } = this.steps;
    const fingerprint = this.plan.update(`${rows}:${sum}`).digest('hex');
    return { rows, sum, fingerprint };
  }

  /** The run record, the plan's numbers, and the file whole under its name. */
  commit(record: RunValues, planLines: string): void {
    this.out.write(this.dialect.epilogue(this.job.target, record));
    this.fillFacts({ stepRows: this.steps.rows, stepSum: this.steps.sum, largestStatement: this.largest });
    this.out.fill(this.planSlot, planLines);
    this.out.commit();
  }

  discard(): void {
    this.out.discard();
  }

  private write(w: PlannedWrite): void {
    const row = {
      uid: w.uid,
      version: w.version,
      oldHash: w.oldSpec === null ? null : hash(this.dialect.rowHash, w.oldSpec, 'buffer'),
      newSpec: w.newSpec,
      writtenHash: writtenHash(w.newSpec, this.job.keepsText),
    };
    // The plan is the rows and what they hold before and after: their keys and the two hashes.
    this.plan.update(JSON.stringify([row.uid, row.version, row.oldHash?.toString('hex') ?? null, row.writtenHash]));
    this.largest = Math.max(this.largest, this.out.write(this.dialect.row(this.job.target, row)));
  }
}
