import knexFactory, { type Knex } from 'knex';

/** The knex instance used only to build SQL for a dialect (quoting, placeholders). */
export function sqlBuilder(
  client: 'better-sqlite3' | 'pg' | 'mysql2',
  connection: Knex.StaticConnectionConfig | object,
): Knex {
  return knexFactory({ client, connection, useNullAsDefault: true, pool: { min: 0, max: 1 } });
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
