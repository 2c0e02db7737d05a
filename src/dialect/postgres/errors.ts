/** A PostgreSQL error code (SQLSTATE): five digits or capitals. */
export const SQLSTATE = /^[0-9A-Z]{5}$/;

/** One line for the operator about a pg error (never with a password); undefined when it is not one. */
export function describePostgresError(error: unknown): string | undefined {
  const e = error as { code?: string; message?: string; address?: string; port?: number };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return `cannot connect to PostgreSQL at ${e.address ?? 'the server'}:${e.port ?? ''}: connection refused (is the server running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to PostgreSQL: host not found (${e.message})`;
    case 'ETIMEDOUT':
      return 'cannot connect to PostgreSQL: the connection timed out';
    case '3D000':
      return `${e.message} (check the database name in the URL)`;
    case '28P01':
    case '28000':
      return `PostgreSQL refused the login: ${e.message}`;
    case '42501':
      return `permission denied: ${e.message}`;
    case '57014':
      // statement_timeout, set for the user or the database (or an administrator's pg_cancel_backend).
      return /statement timeout/i.test(e.message ?? '')
        ? 'PostgreSQL cancelled a statement at statement_timeout, its time limit for this user or database; ' +
            "give the run more time, e.g. PGOPTIONS='-c statement_timeout=0'"
        : `PostgreSQL cancelled a statement (${e.message})`;
    case '25P03':
      return (
        'PostgreSQL ended the session at idle_in_transaction_session_timeout, its limit for this user or database ' +
        "on a pause inside a transaction; give the run more time, e.g. PGOPTIONS='-c idle_in_transaction_session_timeout=0'"
      );
    case '57P01':
    case '57P02':
    case '57P03':
      return `the server ended the connection: ${e.message}`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to PostgreSQL was lost (${e.message})`;
    default:
      if (e?.message === 'Connection terminated unexpectedly') return 'the connection to PostgreSQL was lost';
      // pg read another server's greeting (MySQL/MariaDB speaks first) as PostgreSQL messages.
      if (/unexpected \w+ message from backend|unknown message code/i.test(e?.message ?? '')) {
        return (
          'cannot connect to PostgreSQL: the server did not answer as PostgreSQL ' +
          '(check the host and port: is it a MySQL/MariaDB port such as 3306?)'
        );
      }
      if (typeof e?.code === 'string' && SQLSTATE.test(e.code)) return `PostgreSQL error ${e.code}: ${e.message}`;
      // The driver's own connection timeout has no SQLSTATE.
      return /timeout/i.test(e?.message ?? '') ? `cannot connect to PostgreSQL: ${e.message}` : undefined;
  }
}
