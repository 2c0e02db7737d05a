import { usageError } from '../errors.js';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** Where the database is, parsed from `--db` or the environment. */
export type DatabaseTarget =
  | { dialect: 'sqlite'; file: string; display: string; secrets: string[] }
  | {
      dialect: 'postgres' | 'mysql';
      host: string;
      port: number | undefined;
      user: string | undefined;
      password: string | undefined;
      database: string | undefined;
      params: Record<string, string>;
      display: string;
      secrets: string[];
    };

const SCHEMES: Record<string, Dialect> = {
  sqlite: 'sqlite',
  'sqlite+pysqlite': 'sqlite',
  postgres: 'postgres',
  postgresql: 'postgres',
  'postgresql+psycopg2': 'postgres',
  'postgresql+psycopg': 'postgres',
  'postgresql+pg8000': 'postgres',
  'postgresql+asyncpg': 'postgres',
  mysql: 'mysql',
  'mysql+pymysql': 'mysql',
  'mysql+mysqlconnector': 'mysql',
  'mysql+mysqldb': 'mysql',
  'mysql+aiomysql': 'mysql',
  mariadb: 'mysql',
  'mariadb+pymysql': 'mysql',
  'mariadb+mariadbconnector': 'mysql',
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
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  const value = raw.trim();
  if (value === '') throw usageError('the database URL is empty: pass --db URL or set STEPCFG_DB_URL');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1];
  if (scheme === undefined) return { dialect: 'sqlite', file: value, display: value, secrets: [] };
  const dialect = SCHEMES[scheme.toLowerCase()];
  if (dialect === undefined) {
    throw usageError(
      `unsupported database URL scheme "${scheme}://": use a file path, sqlite:///, postgresql://, mysql:// or mariadb://`,
    );
  }
  if (dialect === 'sqlite') {
    const rest = value.slice(scheme.length + 3);
    const file = decodeURIComponent(rest.split('?')[0] ?? '').replace(/^\//, '');
    if (file === '' || file === ':memory:') {
      throw usageError(`"${value}" names an in-memory database; give the controller's database file`);
    }
    return { dialect, file, display: value, secrets: [] };
  }
  let url: URL;
  try {
    // An empty host (postgresql://user@/db?host=/socket) is valid for SQLAlchemy; URL needs one.
    url = new URL(value.replace(/^[^:]+:/, 'http:').replace(/@\//, '@localhost/'));
  } catch {
    throw usageError(`cannot parse the database URL "${redactUrlText(value)}"`);
  }
  const params: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (params[k] = v));
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

/** Where the database comes from when `--db` is absent. */
export function defaultDatabaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  return env.STEPCFG_DB_URL || env.CTRL_DB_PATH || undefined;
}
