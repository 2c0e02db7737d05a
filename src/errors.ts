/** Exit codes: a contract that scripts rely on (documented in the README). */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  blocked: 3,
  locked: 4,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The words that tell the operator a run changed nothing in the database: one sentence everywhere. */
export const NOTHING_WRITTEN = 'nothing was written';

/** An error meant for the operator: a one-line message and the exit code it ends the run with. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.runtime,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/** A run stopped by a signal: its connection was dropped, so the database rolled it back. */
export class Interrupted extends Error {
  /**
   * Whether part of the run had already committed (MySQL: a fold before its drop; a rollback's
   * tables), and the tool's empty tables it could not remove after the connection was closed.
   */
  constructor(
    readonly afterCommit = false,
    readonly left?: OwnTablesLeft,
  ) {
    super('interrupted');
  }
}

/**
 * A run that did not go through and could not remove the empty tables it had made for its record
 * (MySQL/MariaDB, where they are made before the fold's transaction): the operator is told that
 * no data changed and that those tables are left, instead of that nothing was written.
 */
export class OwnTablesLeft extends Error {
  constructor(
    readonly failure: unknown,
    readonly tables: string[],
  ) {
    super('own tables left', { cause: failure });
  }

  /** What the run left, said where {@link NOTHING_WRITTEN} would otherwise stand. */
  get outcome(): string {
    return tablesLeft(this.tables);
  }
}

/** What a run that changed no data says of the tool's tables it made and could not remove. */
export function tablesLeft(tables: string[]): string {
  return (
    `no data was changed, but the tool's empty tables ${tables.join(' and ')} could not be removed ` +
    '(the cleanup command removes them)'
  );
}

/** A usage error (exit 2): bad flags, bad URL, bad names. */
export function usageError(message: string): ToolError {
  return new ToolError(message, ExitCode.usage);
}
