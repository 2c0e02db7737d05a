import type { WorkflowChange } from '../../src/core/types.js';
import type { LeftRow } from '../../src/migrate/orphans-file.js';
import type { Report } from '../../src/migrate/report.js';

/** A `--json` report as a script reads it: the report, with its list of workflow rows as an array. */
export type ReportJson = Omit<Report, 'workflows'> & { workflows: WorkflowChange[] };

/** An `--orphans-out` file as written (the rows the fold left, each with its columns and labels). */
export interface OrphansFileJson {
  formatVersion: number;
  runId: string;
  count: number;
  rows: LeftRow[];
}

/** Parses the stdout of a `--json` run. */
export function parseReport(text: string): ReportJson {
  return JSON.parse(text) as ReportJson;
}
