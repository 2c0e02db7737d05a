import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSqlite, sqliteSql } from '../../src/dialect/sqlite/sql.js';

/** What the SQLite sessions used before: knex for better-sqlite3, the text to match byte for byte. */
const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
afterAll(() => knex.destroy());

const NAMES = [
  'workflow',
  'main.workflow',
  'a.b.c',
  ' spaced . out ',
  'odd`name',
  '``',
  'x as y',
  'x AS y',
  'a.b As c.d',
  'x  as  y',
  'x as ',
  ' as y',
  'as',
  'has asterisk',
  '*',
  't.*',
  'q\\?mark',
  'q?mark',
  '',
  '.',
  'é-名-n',
  'tab\tname',
];

describe('the SQLite SQL written without knex', () => {
  it('quotes every name as knex did', () => {
    const sql = sqliteSql();
    for (const name of NAMES) expect(sql.quote(name), name).toBe(knex.raw('??', [name]).toQuery());
  });

  it('compiles templates to the same text and bindings as knex', () => {
    const values = ['text', 0, 1.5, -7n, null, true, Buffer.from('x'), ''];
    const templates: [string, unknown[]][] = [
      ['SELECT ?? FROM ?? WHERE ?? IN (?, ?, ?, ?)', ['c', 'main.t', 'k', ...values.slice(0, 4)]],
      ['UPDATE ?? SET spec = ? WHERE uid = ? AND version IS ?', ['x as y', ...values.slice(4, 7)]],
      ['SELECT ? AS ??, json_extract(?, \'$."a\\?"\')', [values[7], ...NAMES.slice(0, 2)]],
      ['SELECT \\?? FROM t', [1]],
      ['SELECT 1', []],
    ];
    for (const name of NAMES) templates.push(['SELECT COUNT(*) AS n FROM ?? WHERE ?? = ?', [name, name, name]]);
    for (const [template, bindings] of templates) {
      const native = knex
        .raw(template, bindings as Knex.RawBinding[])
        .toSQL()
        .toNative();
      expect(compileSqlite(template, bindings), template).toEqual({ sql: native.sql, bindings: native.bindings });
    }
  });

  it('refuses what knex refuses: a missing binding, one too many, an undefined value', () => {
    for (const [template, bindings] of [
      ['SELECT ?, ?', [1]],
      ['SELECT ?', [1, 2]],
      ['SELECT ? FROM ??', [undefined, 't']],
    ] as [string, unknown[]][]) {
      const knexError = (() => {
        try {
          knex.raw(template, bindings as Knex.RawBinding[]).toSQL();
        } catch (e) {
          return (e as Error).message;
        }
      })();
      expect(knexError).toBeDefined();
      expect(() => compileSqlite(template, bindings)).toThrow(knexError);
    }
  });

  it('builds the schema statements of the tool’s own tables through knex, loaded then', async () => {
    const sql = sqliteSql();
    const statements = await sql.schemaStatements((s) => s.createTable('t', (t) => t.string('id', 36).primary()));
    expect(statements).toEqual(
      knex.schema
        .createTable('t', (t) => t.string('id', 36).primary())
        .toSQL()
        .map((s) => ({ sql: s.sql, bindings: s.bindings })),
    );
    await sql.destroy();
  });
});
