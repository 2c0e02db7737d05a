import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redact } from '../../src/config/db-url.js';
import { ToolError } from '../../src/errors.js';

describe('parseDatabaseUrl', () => {
  it.each([
    ['data/sql.db', 'data/sql.db'],
    ['/var/lib/ctrl/sql.db', '/var/lib/ctrl/sql.db'],
    ['sqlite:///rel.db', 'rel.db'],
    ['sqlite:////abs/sql.db', '/abs/sql.db'],
    ['sqlite:///./data/sql.db?check_same_thread=False', './data/sql.db'],
  ])('reads %s as the SQLite file %s', (url, file) => {
    expect(parseDatabaseUrl(url)).toMatchObject({ dialect: 'sqlite', file });
  });

  it.each([
    ['postgres://u:p@h:5433/db', 'postgres'],
    ['postgresql://u@h/db', 'postgres'],
    ['postgresql+psycopg2://u:p@h/db', 'postgres'],
    ['mysql://root@127.0.0.1:3306/test', 'mysql'],
    ['mysql+pymysql://u:p@h/db?charset=utf8mb4', 'mysql'],
    ['mysql+mysqlconnector://u:p@h/db', 'mysql'],
    ['mariadb://u:p@h/db', 'mysql'],
  ])('takes the dialect of %s from its scheme', (url, dialect) => {
    expect(parseDatabaseUrl(url).dialect).toBe(dialect);
  });

  it('splits server URLs and hides the password in what it displays', () => {
    const t = parseDatabaseUrl('postgresql+psycopg2://ctrl:s%40cret@db.internal:5433/genai?sslmode=require');
    expect(t).toMatchObject({ host: 'db.internal', port: 5433, user: 'ctrl', password: 's@cret', database: 'genai' });
    expect(t.display).toBe('postgresql+psycopg2://ctrl:***@db.internal:5433/genai?sslmode=require');
    expect(t.display).not.toContain('cret');
  });

  it.each(['oracle://x/y', 'sqlite://', 'sqlite:///:memory:', ''])('refuses %j as a usage error', (url) => {
    const error = (() => {
      try {
        parseDatabaseUrl(url);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).exitCode).toBe(2);
  });
});

describe('redact', () => {
  it('hides plain and URL-encoded forms', () => {
    expect(redact('pw s@cret and s%40cret', ['s@cret'])).toBe('pw *** and ***');
  });
});

describe('Unix sockets', () => {
  it('reads the socket from ?host= (libpq) and ?unix_socket= (PyMySQL)', () => {
    expect(parseDatabaseUrl('postgresql://ctrl@/genai?host=/var/run/postgresql')).toMatchObject({
      host: '/var/run/postgresql',
      database: 'genai',
    });
    expect(parseDatabaseUrl('mysql+pymysql://root@/genai?unix_socket=/run/mysqld/mysqld.sock')).toMatchObject({
      host: '/run/mysqld/mysqld.sock',
    });
  });
});

describe('passwords in other places of a URL', () => {
  it('takes ?password= as the password and hides it; hides an unencoded one in a URL that does not parse', () => {
    const t = parseDatabaseUrl('postgresql://u@h/db?password=Sekr3tPW');
    expect(t).toMatchObject({ password: 'Sekr3tPW' });
    expect(t.display).not.toContain('Sekr3tPW');
    for (const url of ['postgresql://u:pa/Sekr3t@h:5432/db', 'mysql://root:Sekr3t/x@h/db']) {
      let message = '';
      try {
        parseDatabaseUrl(url);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).not.toContain('Sekr3t');
    }
  });
});
