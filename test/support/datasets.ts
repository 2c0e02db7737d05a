import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A column value as the fixtures store it: JSON columns are raw JSON text, datetimes are text. */
export type Value = string | number | null;
export type Row = Record<string, Value>;
export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** `fixtures/datasets/<name>.json`: rows per table, in insert order (parents first). */
export interface Dataset {
  description: string;
  tables: Record<string, Array<Record<string, unknown>>>;
}

/** The dataset names under fixtures/datasets. */
export const DATASETS = ['sample', 'cases', 'conflict', 'invalid', 'empty'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** Absolute path of a file under fixtures/. */
export function fixturePath(...parts: string[]): string {
  return fileURLToPath(new URL(['../../fixtures', ...parts].join('/'), import.meta.url));
}

/** Reads a dataset file as written (rows may carry `$only`). */
export function readDataset(name: string): Dataset {
  return JSON.parse(readFileSync(fixturePath('datasets', `${name}.json`), 'utf8')) as Dataset;
}

/**
 * The rows a dialect receives: rows whose `$only` list omits the dialect are left out
 * (text that is not JSON cannot be stored in a PostgreSQL or MariaDB JSON column), `$` keys dropped.
 */
export function datasetRows(name: string, dialect: Dialect): Record<string, Row[]> {
  const tables: Record<string, Row[]> = {};
  for (const [table, rows] of Object.entries(readDataset(name).tables)) {
    tables[table] = rows
      .filter((row) => !Array.isArray(row.$only) || row.$only.includes(dialect))
      .map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !key.startsWith('$'))) as Row);
  }
  return tables;
}

/** The statements of `fixtures/schema/<dialect>.sql`: split at `;` ending a line, `--` comment lines dropped. */
export function schemaStatements(dialect: Dialect): string[] {
  const text = readFileSync(fixturePath('schema', `${dialect}.sql`), 'utf8');
  return text
    .split(/;[ \t]*$/m)
    .map((chunk) => chunk.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
}
