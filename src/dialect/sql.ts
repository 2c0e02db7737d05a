import type { Knex } from 'knex';

/** SQL in the driver's own form, with its bindings. */
export interface NativeStatement {
  sql: string;
  bindings: unknown[];
}

/**
 * How a session writes SQL: the tool's templates (`??` names, `?` values) in the driver's own
 * form, quoted names, and the schema builder that makes the tool's own tables.
 */
export interface SqlForm {
  /** A template whose list bindings are expanded already (see {@link expandArrays}). */
  compile(template: string, bindings: unknown[]): NativeStatement;
  /** One name (or `schema.table`), quoted. */
  quote(identifier: string): string;
  /** The statements of a knex schema builder (CREATE TABLE, DROP TABLE of the tool's own tables). */
  schemaStatements(build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder): Promise<NativeStatement[]>;
  /** Releases the knex instance behind it, if one was made. */
  destroy(): Promise<void>;
}

/**
 * Splits rows into chunks of at most `rows` rows and about `bytes` bytes of text, so that one
 * statement stays far below the server's packet limit (MySQL max_allowed_packet is 16 MB by default).
 */
export function chunks<T>(items: T[], rows: number, size: (item: T) => number, bytes = 4 << 20): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && (current.length >= rows || total + n > bytes)) {
      out.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Expands each `?` bound to an array into `?, ?, …` (for `IN (?)`), which knex raw does not do. */
export function expandArrays(
  template: string,
  bindings: readonly unknown[],
): { template: string; bindings: unknown[] } {
  const out: unknown[] = [];
  let i = 0;
  const sql = template.replace(/\\\?|\?\??/g, (token) => {
    if (token === '\\?') return token;
    const value = bindings[i++];
    if (token === '??' || !Array.isArray(value)) {
      out.push(value);
      return token;
    }
    if (value.length === 0) throw new Error('empty list bound to IN (?)');
    out.push(...value);
    return value.map(() => '?').join(', ');
  });
  return { template: sql, bindings: out };
}
