/** The `'user'@'host'` of an access-denied message, or the message itself. */
function deniedUser(message: string | undefined): string {
  return /for user ('[^']*'@'[^']*')/.exec(message ?? '')?.[1] ?? `(${message ?? 'unknown'})`;
}

/** One line for the operator about a mysql2 error (never with a password); undefined when it is not one. */
export function describeMysqlError(error: unknown): string | undefined {
  const e = error as { code?: string; message?: string; errno?: number; address?: string; port?: number };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return (
        `cannot connect to MySQL/MariaDB at ${e.address ?? 'the server'}:${e.port ?? ''}: ` +
        'connection refused (is the server running?)'
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to MySQL/MariaDB: host not found (${e.message})`;
    case 'ETIMEDOUT':
      // mysql2 waits for the server's greeting: a PostgreSQL port accepts the connection and says nothing.
      return (
        'cannot connect to MySQL/MariaDB: the server did not answer as MySQL/MariaDB within --lock-timeout ' +
        '(check the host and port: is it a PostgreSQL port such as 5432, or a host that does not answer?)'
      );
    case 'ER_BAD_DB_ERROR':
      return `${e.message} (check the database name in the URL)`;
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      // MariaDB answers the second when the account signs in another way (unix_socket, a plugin not loaded).
      return `MySQL/MariaDB refused the login: access denied for user ${deniedUser(e.message)}; check the user and password`;
    case 'ER_DBACCESS_DENIED_ERROR':
      return `MySQL/MariaDB refused the login: ${e.message}`;
    case 'ER_TABLEACCESS_DENIED_ERROR':
      return `permission denied: ${e.message}`;
    case 'ER_QUERY_TIMEOUT':
      return (
        'MySQL stopped a query at max_execution_time, its time limit for this session or server; ' +
        'give the run more time (max_execution_time = 0)'
      );
    case 'ER_NET_PACKET_TOO_LARGE':
      return "a workflow spec is larger than the server's max_allowed_packet allows in one statement; raise max_allowed_packet";
    case 'PROTOCOL_CONNECTION_LOST':
    case 'ECONNRESET':
      return 'the connection to MySQL/MariaDB was lost';
    default:
      // MariaDB's ER_STATEMENT_TIMEOUT, which mysql2 does not name.
      if (e?.errno === 1969) {
        return (
          'MariaDB stopped a statement at max_statement_time, its time limit for this user or server; ' +
          'give the run more time (max_statement_time = 0 for this account)'
        );
      }
      return typeof e?.code === 'string' && e.code.startsWith('ER_')
        ? `MySQL/MariaDB error ${e.code}: ${e.message}`
        : undefined;
  }
}
