/** One line for the operator about a SQLite error; undefined when it is not one. */
export function describeSqliteError(error: unknown): string | undefined {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case 'SQLITE_NOTADB':
      return 'the file is not a SQLite database';
    case 'SQLITE_BUSY':
      return 'the database is locked by another process (try again, or raise --lock-timeout)';
    case 'SQLITE_READONLY':
      return 'the database is read-only (check the file and directory permissions)';
    case 'SQLITE_CANTOPEN':
      return 'the database file cannot be opened';
    case 'SQLITE_CORRUPT':
      return 'the database file is corrupt';
    case 'SQLITE_FULL':
      // The stage of an apply is a temporary table: at a million rows, a temporary file of ~200 MB.
      return (
        "no room on disk for the database file, its journal or SQLite's temporary files " +
        '(in $SQLITE_TMPDIR if set, else /var/tmp or /tmp)'
      );
    default:
      return code?.startsWith('SQLITE_') ? `SQLite error ${code}: ${(error as Error).message}` : undefined;
  }
}
