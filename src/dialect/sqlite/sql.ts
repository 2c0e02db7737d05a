import type { NativeStatement, SqlForm } from '../sql.js';

/**
 * SQLite's SQL without knex, so that a read-only run on SQLite does not wait for knex to load:
 * the very text knex writes for better-sqlite3 from the tool's one form of template, a raw
 * template with `??` names and `?` values. knex is loaded for the schema builder alone, when
 * the tool creates or drops one of its own tables.
 */
export function sqliteSql(): SqlForm {
  let knex: Promise<SqlForm> | undefined;
  const loaded = () =>
    (knex ??= import('../knex-sql.js').then((m) => m.knexSql('better-sqlite3', { filename: ':memory:' })));
  return {
    compile: compileSqlite,
    quote: (identifier) => quoteName(identifier).replace(/\\\?/g, '?'), // as knex's toQuery() leaves it
    schemaStatements: async (build) => (await loaded()).schemaStatements(build),
    destroy: async () => {
      if (knex) await (await knex).destroy();
    },
  };
}

/** knex's raw placeholders, matched as knex matches them: `\?` stays as written, `??` a name, else a value. */
const PLACEHOLDER = /\\?\?\??/g;

/** A raw template in better-sqlite3's form: names quoted into the text, each value a `?` (as knex's toNative()). */
export function compileSqlite(template: string, bindings: unknown[]): NativeStatement {
  const values: unknown[] = [];
  let index = 0;
  const sql = template.replace(PLACEHOLDER, (match) => {
    if (match === '\\?') return match;
    const value = bindings[index++];
    if (match === '??') return quoteName(nameOf(value));
    values.push(value);
    return '?';
  });
  // The same mistakes knex refuses, refused the same way.
  if (index !== bindings.length) throw new Error(`Expected ${bindings.length} bindings, saw ${index}`);
  if (values.includes(undefined)) {
    const keys = bindings.flatMap((b, i) => (b === undefined ? [i] : []));
    throw new Error(`Undefined binding(s) detected for keys [${keys}] when compiling RAW query: ${sql}`);
  }
  return { sql, bindings: values };
}

function nameOf(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`a name bound to ?? must be a string, not ${typeof value}`);
  return value;
}

/**
 * A name as knex wraps it for SQLite: `a as b` an alias (the first ` as `, in any case), the
 * left of it `schema.table` split at each dot, each part trimmed and in backticks with its
 * backticks doubled; `*` stays bare.
 */
function quoteName(name: string): string {
  const as = name.search(/ [Aa][Ss] /);
  if (as !== -1) return `${quoteName(name.slice(0, as))} as ${quotePart(name.slice(as + 4))}`;
  return name.split('.').map(quotePart).join('.');
}

function quotePart(part: string): string {
  const name = part.trim();
  return name === '*' ? '*' : `\`${name.replace(/`/g, '``')}\``;
}
