import { describe, expect, it } from 'vitest';
import { readDbUrl, YamlSubsetError } from '../../src/config/controller-yaml.js';

describe('db.db_url of the controller config', () => {
  it.each([
    ['db:\n  db_url: sqlite:////data/sql.db\n  verbose: true\n', 'sqlite:////data/sql.db'],
    [
      '# config\n---\nlog_level: DEBUG\ndb:\n    verbose: true\n    db_url: "mysql+pymysql://u:p%40w@h/db"  # prod\n',
      'mysql+pymysql://u:p%40w@h/db',
    ],
    ["db:\n  db_url: 'it''s.db'\n", "it's.db"],
    ['db:\n  db_url: "a\\"b\\u00e9\\\\"\n', 'a"bé\\'],
    ['db:\n  db_url: x.db # comment\n', 'x.db'],
    ['"db":\n  "db_url": x.db\n', 'x.db'],
    ['db: {db_url: "postgresql://u@h/db", verbose: "true"}\n', 'postgresql://u@h/db'],
    ["db: {verbose: true, db_url: 'a,b.db'} # c\n", 'a,b.db'],
    ['db:\n  db_url: first.db\ndb:\n  db_url: last.db\n', 'last.db'],
    ['db:\n  other:\n    db_url: nested.db\n  db_url: right.db\n', 'right.db'],
    ['notes: |\n  db:\n    db_url: in-a-block.db\ndb:\n  db_url: real.db\n', 'real.db'],
  ])('reads %j', (text, url) => {
    expect(readDbUrl(text)).toEqual({ kind: 'url', url });
  });

  it('tells no db section from a db section without db_url', () => {
    expect(readDbUrl('log_level: DEBUG\nsql_connection_str: sqlite:////data/sql.db\n')).toEqual({ kind: 'no-db' });
    expect(readDbUrl('')).toEqual({ kind: 'no-db' });
    expect(readDbUrl('db:\n  verbose: true\n')).toEqual({ kind: 'no-db-url' });
    expect(readDbUrl('db:\n  db_url: ~\n')).toEqual({ kind: 'no-db-url' });
    expect(readDbUrl('db:\nother: 1\n')).toEqual({ kind: 'no-db-url' });
  });

  it.each([
    'db:\n  db_url: &u x.db\n',
    'db:\n  db_url: *u\n',
    'db:\n  db_url: !!str x.db\n',
    'db:\n  db_url: |\n    x.db\n',
    'db:\n  db_url: "open\n    close"\n',
    'db:\n  db_url: plain\n    continued\n',
    'db:\n\tdb_url: x.db\n',
    'db: {db_url: x.db,\n  verbose: true}\n',
    'db: *defaults\n',
  ])('refuses what it does not read, never guessing: %j', (text) => {
    expect(() => readDbUrl(text)).toThrow(YamlSubsetError);
  });
});
