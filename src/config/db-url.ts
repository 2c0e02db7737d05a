import { ToolError, usageError } from '../errors.js';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** Where the database is, as a URL says it. */
type Location = (
  | { dialect: 'sqlite'; file: string }
  | {
      dialect: 'postgres' | 'mysql';
      host: string;
      port: number | undefined;
      user: string | undefined;
      password: string | undefined;
      database: string | undefined;
      params: Record<string, string>;
    }
) & {
  /** The URL with its password as `***`. */
  display: string;
  /** Every text that must never be printed. */
  secrets: string[];
};

/** Where the database is, parsed from `--db` or the environment, and which of them said so. */
export type DatabaseTarget = Location & {
  /** Where the URL came from: `--db`, `STEPCFG_DB_URL`, `CTRL_DB_PATH`, `.env <path>`, `config <path>`, … */
  source: string;
};

/**
 * The SQLAlchemy backends the tool speaks, each with the drivers SQLAlchemy knows for it: the
 * driver only says which Python module the controller loads, the tool talks to the same server.
 * MariaDB takes MySQL's drivers too. `postgres://` (libpq's spelling) has no driver form.
 */
const MYSQL_DRIVERS = ['mysqldb', 'pymysql', 'mysqlconnector', 'asyncmy', 'aiomysql', 'cymysql'];
const BACKENDS: Record<string, { dialect: Dialect; drivers: readonly string[] }> = {
  sqlite: { dialect: 'sqlite', drivers: ['pysqlite', 'aiosqlite'] },
  postgres: { dialect: 'postgres', drivers: [] },
  postgresql: {
    dialect: 'postgres',
    drivers: ['psycopg2', 'psycopg', 'psycopg_async', 'pg8000', 'asyncpg', 'psycopg2cffi'],
  },
  mysql: { dialect: 'mysql', drivers: MYSQL_DRIVERS },
  mariadb: { dialect: 'mysql', drivers: ['mariadbconnector', ...MYSQL_DRIVERS] },
};

/** Anything shaped `scheme://` or `scheme+driver://` is a URL, never a file path. */
const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+._-]*):\/\//;

/** The dialect of a URL scheme, or a usage error naming what is not supported (the URL redacted). */
function dialectOf(scheme: string, value: string): Dialect {
  const [backend = '', driver, ...more] = scheme.toLowerCase().split('+');
  const known = BACKENDS[backend];
  if (known && more.length === 0 && (driver === undefined || known.drivers.includes(driver))) return known.dialect;
  const why =
    known && more.length === 0
      ? known.drivers.length > 0
        ? `the driver "${driver}" is not one of ${backend}'s: ${known.drivers.join(', ')}`
        : `${backend}:// takes no driver (postgresql+DRIVER:// does)`
      : 'use a file path, sqlite:///, postgresql://, mysql:// or mariadb://, with or without a SQLAlchemy driver (postgresql+psycopg2://)';
  return fail(`unsupported database URL scheme "${scheme}://" in ${redactUrlText(value)}: ${why}`);
}

const fail = (message: string): never => {
  throw usageError(message);
};

/** Replaces every secret in a text with `***`, in plain and URL-encoded form. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length === 0) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return out;
}

/**
 * Parses a database URL as the controller writes it (SQLAlchemy style) or a plain file path.
 * `sqlite:///rel.db` is relative, `sqlite:////abs.db` absolute; the dialect follows the scheme.
 */
export function parseDatabaseUrl(raw: string, source = '--db'): DatabaseTarget {
  try {
    return { ...parseUrl(raw.trim()), source };
  } catch (e) {
    // A URL from the environment or a file: say which one, so the operator knows what to fix.
    if (source !== '--db' && e instanceof ToolError) throw new ToolError(`${e.message} (from ${source})`, e.exitCode);
    throw e;
  }
}

function parseUrl(value: string): Location {
  if (value === '') throw usageError('the database URL is empty: pass --db URL or set STEPCFG_DB_URL');
  const scheme = URL_SCHEME.exec(value)?.[1];
  if (scheme === undefined) return { dialect: 'sqlite', file: value, display: value, secrets: [] };
  const dialect = dialectOf(scheme, value);
  if (dialect === 'sqlite') {
    const rest = value.slice(scheme.length + 3);
    const file = decodeURIComponent(rest.split('?')[0] ?? '').replace(/^\//, '');
    if (file === '' || file === ':memory:') {
      throw usageError(`"${redactUrlText(value)}" names an in-memory database; give the controller's database file`);
    }
    return { dialect, file, display: value, secrets: [] };
  }
  return serverTarget(dialect, value);
}

/** A server URL split into its parts; the password only in `secrets`, never in `display`. */
function serverTarget(dialect: 'postgres' | 'mysql', value: string): Location {
  let url: URL;
  try {
    // An empty host (postgresql://user@/db?host=/socket) is valid for SQLAlchemy; URL needs one.
    url = new URL(value.replace(/^[^:]+:/, 'http:').replace(/@\//, '@localhost/'));
  } catch {
    throw usageError(`cannot parse the database URL "${redactUrlText(value)}"`);
  }
  const params: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (params[k] = v));
  // asyncpg spells libpq's sslmode as ssl (ssl=require, ssl=true).
  if (dialect === 'postgres' && params.sslmode === undefined && params.ssl !== undefined) {
    params.sslmode = params.ssl === 'true' ? 'require' : params.ssl;
  }
  // libpq and psycopg2 also take the password as ?password=…
  const password = url.password === '' ? params.password : decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  const secrets = password ? [password] : [];
  // A Unix socket, as SQLAlchemy and libpq spell it: ?host=/run/postgresql, ?unix_socket=/run/mysqld/mysqld.sock
  const socket = params.host ?? params.unix_socket;
  return {
    dialect,
    host: socket ?? (url.hostname.replace(/^\[|\]$/g, '') || 'localhost'),
    port: url.port ? Number(url.port) : undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    database,
    params,
    display: redact(redactUrlText(value), secrets),
    secrets,
  };
}

/** Best effort for a URL that does not parse: hide whatever sits between `user:` and `@`. */
function redactUrlText(value: string): string {
  return value.replace(/(\/\/[^/:@]*:).*@/, '$1***@').replace(/([?&]password=)[^&]*/gi, '$1***');
}
