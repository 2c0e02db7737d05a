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
    ...['asyncpg', 'psycopg', 'psycopg_async', 'pg8000', 'psycopg2'].map((d) => [
      `postgresql+${d}://u:p@h/db`,
      'postgres',
    ]),
    ...['aiomysql', 'asyncmy', 'mysqldb', 'pymysql', 'mysqlconnector'].map((d) => [`mysql+${d}://u:p@h/db`, 'mysql']),
    ['mariadb+mariadbconnector://u:p@h/db', 'mysql'],
    ['mariadb+pymysql://u:p@h/db', 'mysql'],
    ['MySQL+PyMySQL://u:p@h/db', 'mysql'],
  ])('takes the dialect of %s from its scheme', (url, dialect) => {
    expect(parseDatabaseUrl(url).dialect).toBe(dialect);
  });

  it.each([
    ['sqlite+pysqlite:////abs/sql.db', '/abs/sql.db'],
    ['sqlite+aiosqlite:///rel.db', 'rel.db'],
  ])('reads the SQLAlchemy SQLite driver URL %s as the file %s', (url, file) => {
    expect(parseDatabaseUrl(url)).toMatchObject({ dialect: 'sqlite', file });
  });

  it('splits a URL whose driver has an underscore, never taking it for a file path', () => {
    const t = parseDatabaseUrl('postgresql+psycopg_async://postgres:TopSecret99@127.0.0.1:5432/x');
    expect(t).toMatchObject({
      dialect: 'postgres',
      host: '127.0.0.1',
      port: 5432,
      database: 'x',
      password: 'TopSecret99',
    });
    expect(t.display).toBe('postgresql+psycopg_async://postgres:***@127.0.0.1:5432/x');
    expect(t.source).toBe('--db');
  });

  it("takes asyncpg's ?ssl= as sslmode", () => {
    expect(parseDatabaseUrl('postgresql+asyncpg://u@h/db?ssl=require')).toMatchObject({
      params: { sslmode: 'require' },
    });
  });

  it.each([
    [
      'oracle+cx_oracle://scott:TopSecret99@db:1521/x',
      /^unsupported database URL scheme "oracle\+cx_oracle:\/\/" in oracle\+cx_oracle:\/\/scott:\*\*\*@db:1521\/x: /,
    ],
    ['mssql+pyodbc://sa:TopSecret99@h/x', /^unsupported database URL scheme "mssql\+pyodbc:\/\/"/],
    ['postgresql+nodriver://u:TopSecret99@h/x', /the driver "nodriver" is not one of postgresql's: .*psycopg_async/],
    ['mysql+psycopg2://u:TopSecret99@h/x', /the driver "psycopg2" is not one of mysql's/],
    ['sqlite+pysqlcipher://:TopSecret99@/x.db', /the driver "pysqlcipher" is not one of sqlite's/],
    ['postgres+psycopg2://u:TopSecret99@h/x', /postgres:\/\/ takes no driver/],
    ['my_db+x.y://u:Top/Secret99@h/x', /^unsupported database URL scheme "my_db\+x\.y:\/\/"/],
  ])('refuses %s as a usage error naming the scheme, the URL without its password', (url, message) => {
    const error = refusal(url);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/TopSecret99|Secret99/);
  });

  it('names the source of a URL it refuses, when it is not --db', () => {
    expect(refusal('oracle://x/y', 'config /etc/ctrl.yaml').message).toMatch(/ \(from config \/etc\/ctrl\.yaml\)$/);
    expect(parseDatabaseUrl('x.db', 'CTRL_DB_PATH').source).toBe('CTRL_DB_PATH');
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

function refusal(url: string, source?: string): ToolError {
  try {
    parseDatabaseUrl(url, source);
  } catch (e) {
    if (e instanceof ToolError) return e;
    throw e;
  }
  throw new Error(`${url} was accepted`);
}

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
